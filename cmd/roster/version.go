package main

import (
	"fmt"
	"io"

	"github.com/rosterhq/roster/admin"
)

// cmdVersion prints what the binary knows of its build (admin.ReadBuild):
// the module's version, the commit and the Go version, as the admin
// listener's roster_build_info has them.
func cmdVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("version: unexpected argument %q", args[0])}
	}
	writeVersion(stdout, admin.ReadBuild())
	return nil
}

func writeVersion(w io.Writer, b admin.Build) {
	rev := b.Revision
	switch {
	case rev == "":
		rev = "unknown (built without version control information)"
	case b.Modified:
		rev += " (modified: built with uncommitted changes)"
	}
	fmt.Fprintf(w, "roster %s\nrevision %s\ngo %s\n", b.Version, rev, b.GoVersion)
}
