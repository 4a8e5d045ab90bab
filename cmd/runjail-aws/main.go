// Command runjail-aws prints AWS credentials for runjail's proxy, from
// aws-sdk-go-v2's default credential chain. runjail runs it when a profile
// has an aws credential; it is a separate program so that the SDK does not
// slow every jail's start.
package main

import (
	"os"

	"github.com/runjail/runjail/awschain"
)

func main() { os.Exit(awschain.Main(os.Args[1:], os.Stdout, os.Stderr)) }
