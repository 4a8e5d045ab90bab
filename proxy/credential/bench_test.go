package credential

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkSigV4: re-signing one Bedrock request with a 16 KiB body (a
// typical Messages request), stub signature dropped, body hashed, signed.
func BenchmarkSigV4(b *testing.B) {
	creds := &helperCredentials{cur: aws.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret"}}
	a := &awsSigner{creds: creds, service: "bedrock", signer: v4.NewSigner()}
	body := bytes.Repeat([]byte("x"), 16<<10)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke-with-response-stream", bytes.NewReader(body))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=stub")
		req.Header.Set("Content-Type", "application/json")
		if err := a.Apply(req, "bedrock-runtime.us-east-1.amazonaws.com"); err != nil {
			b.Fatal(err)
		}
	}
}
