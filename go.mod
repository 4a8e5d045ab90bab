module github.com/runjail/runjail

go 1.26.0

require (
	github.com/adrg/xdg v0.5.3
	github.com/rogpeppe/go-internal v1.16.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require (
	github.com/google/martian/v3 v3.3.3
	golang.org/x/net v0.62.0
)

require golang.org/x/text v0.43.0 // indirect

require (
	github.com/BurntSushi/toml v1.6.0
	golang.org/x/tools v0.51.0 // indirect
)
