// Package awschain loads AWS credentials with aws-sdk-go-v2's default chain
// (environment, shared config and credentials files, SSO,
// credential_process, ...) for the runjail-aws helper. It lives apart from
// runjail itself: the SDK's configuration packages cost about 1.5 ms of
// package initialisation, which every jail start (runjail and its init are
// one binary) would otherwise pay.
package awschain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/runjail/runjail/proxy/credential"
)

// Write loads the credentials of profile ("" = the default chain's) and
// writes them to w as JSON (credential.AWSHelperOutput).
func Write(ctx context.Context, w io.Writer, profile string) error {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("AWS configuration: %v; check ~/.aws/config or run aws configure", err)
	}
	if cfg.Credentials == nil {
		return errors.New("no AWS credentials found; run aws configure (or aws sso login)")
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %v; run aws sso login or aws configure", err)
	}
	out := credential.AWSHelperOutput{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Region: cfg.Region}
	if c.CanExpire {
		out.Expiration = &c.Expires
	}
	return json.NewEncoder(w).Encode(out)
}

// Main is the runjail-aws command line: runjail-aws [--profile NAME].
func Main(args []string, stdout, stderr io.Writer) int {
	profile := ""
	switch {
	case len(args) == 2 && args[0] == "--profile":
		profile = args[1]
	case len(args) != 0:
		fmt.Fprintln(stderr, "usage: runjail-aws [--profile NAME]\n\nPrints AWS credentials (credential_process JSON) for runjail's proxy.")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Write(ctx, stdout, profile); err != nil {
		fmt.Fprintln(stderr, "runjail-aws:", err)
		return 1
	}
	return 0
}
