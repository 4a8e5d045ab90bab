package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLoadCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runjail")
	// Several runjails starting at once agree on one CA.
	var wg sync.WaitGroup
	cas := make([]*CA, 8)
	errs := make([]error, 8)
	for i := range cas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cas[i], errs[i] = LoadCA(dir)
		}()
	}
	wg.Wait()
	for i := range cas {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !cas[i].Cert.Equal(cas[0].Cert) {
			t.Fatalf("two CAs were made")
		}
	}
	ca := cas[0]
	if !ca.Cert.IsCA || ca.Key.Curve != elliptic.P256() {
		t.Errorf("not an ECDSA P-256 CA: %+v", ca.Cert)
	}
	if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&ca.Key.PublicKey) {
		t.Errorf("key does not match certificate")
	}
	fi, err := os.Stat(filepath.Join(dir, caKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("CA dir mode: %v %v", fi.Mode(), err)
	}
	again, err := LoadCA(dir)
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Errorf("reloading gave another CA: %v", err)
	}
	// A damaged pair is an error that says what to do, not a silent new CA.
	os.WriteFile(filepath.Join(dir, caKeyFile), []byte("junk"), 0o600)
	if _, err := LoadCA(dir); err == nil {
		t.Errorf("a damaged key was accepted")
	}
}
