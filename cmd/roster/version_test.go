package main

import (
	"bytes"
	"context"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/rosterhq/roster/admin"
)

// `roster version` prints the module's version, the commit and the Go
// version from the binary's build information: what `go version -m` reads
// from the same binary.
func TestVersion_BuiltBinary(t *testing.T) {
	bin := rosterBinary(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	// go version -m: "\tmod\tgithub.com/rosterhq/roster\t(devel)\t" and
	// "\tbuild\tvcs.revision=..." lines.
	var version, revision, modified string
	for _, line := range strings.Split(string(meta), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/rosterhq/roster":
			version = f[2]
		case len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			revision = strings.TrimPrefix(f[1], "vcs.revision=")
		case len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.modified="):
			modified = strings.TrimPrefix(f[1], "vcs.modified=")
		}
	}
	if version == "" {
		t.Fatalf("go version -m shows no main module:\n%s", meta)
	}
	wantRev := "unknown (built without version control information)"
	switch {
	case revision != "" && modified == "true":
		wantRev = revision + " (modified: built with uncommitted changes)"
	case revision != "":
		wantRev = revision
	}
	want := "roster " + version + "\nrevision " + wantRev + "\ngo " + runtime.Version() + "\n"
	if string(out) != want {
		t.Errorf("roster version:\n%s\nwant (from go version -m):\n%s", out, want)
	}
	t.Logf("roster version:\n%s", out)

	if err := exec.Command(bin, "version", "extra").Run(); err == nil {
		t.Error("roster version extra: no error")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("roster version extra: %v, want exit status 2", err)
	}
}

// The three lines from build information, stamped from a checkout with
// changes, from a clean one, and not stamped at all; and `roster version`
// through run.
func TestVersion_FromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rosterhq/roster", Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "false"}}},
			"roster v1.4.0\nrevision 0123456789abcdef0123456789abcdef01234567\ngo go1.26.8\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rosterhq/roster", Version: "v1.4.1-0.20260101000000-0123456789ab+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}},
			"roster v1.4.1-0.20260101000000-0123456789ab+dirty\nrevision 0123456789abcdef0123456789abcdef01234567 (modified: built with uncommitted changes)\ngo go1.26.8\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rosterhq/roster", Version: "(devel)"}},
			"roster (devel)\nrevision unknown (built without version control information)\ngo go1.26.8\n"},
	} {
		var b bytes.Buffer
		writeVersion(&b, admin.BuildFrom(tc.info))
		if b.String() != tc.want {
			t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
		}
	}
	b := admin.BuildFrom(&debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}})
	if b.Version != "(devel)" || b.GoVersion != runtime.Version() || b.RevisionLabel() != "abc-modified" {
		t.Errorf("empty build information: %+v %q", b, b.RevisionLabel())
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "roster ") || !strings.HasSuffix(out.String(), "\ngo "+runtime.Version()+"\n") {
		t.Errorf("run version: %q", out.String())
	}
}
