package credential

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSignedBody is the largest request body the proxy signs: SigV4 covers
// the body's hash, so it is read whole first.
const maxSignedBody = 64 << 20

// Stubs the jail's AWS SDK signs with; the proxy throws that signature away.
const (
	stubAccessKey = "AKIARUNJAILSTUBKEY00"
	stubSecretKey = "runjail-stub-the-proxy-signs-with-the-real-credentials"
)

// awsSigner re-signs requests with SigV4, with credentials from the
// runjail-aws helper (aws-sdk-go-v2's default chain: environment, shared
// config and credentials files, SSO, credential_process, ...), run again
// when they are about to expire.
type awsSigner struct {
	creds   *helperCredentials
	service string
	region  string // "" = from the host name
	// defaultRegion is the AWS configuration's, for the jail's SDK.
	defaultRegion string
	profile       string
	signer        *v4.Signer
}

// AWSHelperOutput is what runjail-aws prints: a credential_process answer
// (AWS's format) and the configured region.
type AWSHelperOutput struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string     `json:",omitempty"`
	Expiration      *time.Time `json:",omitempty"`
	Region          string     `json:",omitempty"`
}

// helperCredentials runs the helper for credentials and keeps them until
// five minutes before they expire.
type helperCredentials struct {
	path, profile string

	mu     sync.Mutex
	cur    aws.Credentials
	region string
}

func (h *helperCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur.HasKeys() && (!h.cur.CanExpire || time.Until(h.cur.Expires) > refreshMargin) {
		return h.cur, nil
	}
	var args []string
	if h.profile != "" {
		args = []string{"--profile", h.profile}
	}
	cmd := exec.CommandContext(ctx, h.path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(stderr.String(), "runjail-aws: "))
		if msg == "" {
			msg = err.Error()
		}
		return aws.Credentials{}, errors.New(msg)
	}
	var o AWSHelperOutput
	if err := json.Unmarshal(out, &o); err != nil || o.AccessKeyID == "" {
		return aws.Credentials{}, fmt.Errorf("%s printed no credentials", h.path)
	}
	h.cur = aws.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, SessionToken: o.SessionToken, Source: "runjail-aws"}
	if o.Expiration != nil {
		h.cur.CanExpire, h.cur.Expires = true, *o.Expiration
	}
	h.region = o.Region
	return h.cur, nil
}

func loadAWS(spec Spec) (*awsSigner, error) {
	if spec.AWSHelper == "" {
		return nil, errors.New("runjail-aws, which loads AWS credentials, is not installed next to runjail (make install puts it there)")
	}
	creds := &helperCredentials{path: spec.AWSHelper, profile: spec.Profile}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Fail now, outside the jail, rather than on the first request.
	if _, err := creds.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("%v; run aws sso login or aws configure outside the jail", err)
	}
	return &awsSigner{creds: creds, service: spec.Service, region: spec.Region, defaultRegion: creds.region,
		profile: spec.Profile, signer: v4.NewSigner()}, nil
}

// regionOf finds the region in an AWS host name such as
// bedrock-runtime.us-east-1.amazonaws.com.
func regionOf(host string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(host, ".")), ".")
	for i := 2; i < len(labels); i++ {
		if labels[i] == "amazonaws" {
			return labels[i-1]
		}
	}
	return ""
}

func (a *awsSigner) Apply(req *http.Request, host string) error {
	if strings.HasPrefix(req.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return errors.New("request streaming (chunked SigV4 payload signing) is not supported by runjail's proxy; send the body whole")
	}
	region := a.region
	if region == "" {
		if region = regionOf(host); region == "" {
			return fmt.Errorf("no AWS region in %q; set region in the [[credential]]", host)
		}
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
		req.Header.Del(h)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, maxSignedBody+1))
		req.Body.Close()
		if err != nil {
			return err
		}
		if len(body) > maxSignedBody {
			return fmt.Errorf("the request body is over %d MiB, more than the proxy signs", maxSignedBody>>20)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	creds, err := a.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %v; run aws sso login or aws configure outside the jail", err)
	}
	return a.signer.SignHTTP(ctx, creds, req, hash, a.service, region, time.Now())
}

func (a *awsSigner) Stub() map[string]string {
	env := map[string]string{"AWS_ACCESS_KEY_ID": stubAccessKey, "AWS_SECRET_ACCESS_KEY": stubSecretKey}
	if r := cmp.Or(a.region, a.defaultRegion); r != "" {
		env["AWS_REGION"] = r
	}
	return env
}

func (a *awsSigner) Describe() string {
	if a.profile != "" {
		return "AWS SigV4 (" + a.service + ") from AWS profile " + a.profile
	}
	return "AWS SigV4 (" + a.service + ") from the default AWS credential chain"
}
