package credential

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helper writes a fake runjail-aws that counts its runs and prints
// credentials expiring at expires.
func helper(t *testing.T, expires time.Time, fail bool) (path, runs string) {
	dir := t.TempDir()
	runs = filepath.Join(dir, "runs")
	body := fmt.Sprintf(`echo run >> %s
echo '{"Version":1,"AccessKeyId":"AKIAHELPER","SecretAccessKey":"s","SessionToken":"tok","Expiration":"%s","Region":"eu-north-1"}'`, runs, expires.UTC().Format(time.RFC3339))
	if fail {
		body = `echo "runjail-aws: the SSO session has expired" >&2; exit 1`
	}
	path = filepath.Join(dir, "runjail-aws")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, runs
}

func count(runs string) int {
	b, _ := os.ReadFile(runs)
	return strings.Count(string(b), "run")
}

// Credentials from the helper are kept until five minutes before they
// expire; the region it reports reaches the jail's stub environment.
func TestAWSHelperCredentials(t *testing.T) {
	path, runs := helper(t, time.Now().Add(time.Hour), false)
	b, err := Load(Spec{Type: "aws", Hosts: []string{"bedrock-runtime.*.amazonaws.com"}, Service: "bedrock", AWSHelper: path}, os.Getenv, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		req, _ := http.NewRequest("POST", "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/invoke", strings.NewReader("{}"))
		if err := b.Provider.Apply(req, "bedrock-runtime.us-west-2.amazonaws.com"); err != nil {
			t.Fatal(err)
		}
		if a := req.Header.Get("Authorization"); !strings.Contains(a, "Credential=AKIAHELPER/") || !strings.Contains(a, "/us-west-2/bedrock/") || req.Header.Get("X-Amz-Security-Token") != "tok" {
			t.Errorf("signed: %q %v", a, req.Header)
		}
	}
	if n := count(runs); n != 1 {
		t.Errorf("helper ran %d times for credentials valid an hour", n)
	}
	if env := b.Provider.Stub(); env["AWS_REGION"] != "eu-north-1" || env["AWS_ACCESS_KEY_ID"] != stubAccessKey {
		t.Errorf("stub: %v", env)
	}

	soon, runs := helper(t, time.Now().Add(time.Minute), false)
	s := &helperCredentials{path: soon}
	s.Retrieve(context.Background())
	s.Retrieve(context.Background())
	if n := count(runs); n != 2 {
		t.Errorf("helper ran %d times for credentials about to expire, want 2", n)
	}

	failing, _ := helper(t, time.Time{}, true)
	if _, err := Load(Spec{Type: "aws", Hosts: []string{"x.amazonaws.com"}, Service: "bedrock", AWSHelper: failing, From: "p:1:1"}, os.Getenv, "", nil); err == nil ||
		!strings.Contains(err.Error(), "the SSO session has expired; run aws sso login") || !strings.Contains(err.Error(), "p:1:1") {
		t.Errorf("failing helper: %v", err)
	}
}
