package admin

import (
	"runtime"
	"runtime/debug"
)

// Build is what the binary knows of its own build, from the module's
// build information (runtime/debug.ReadBuildInfo): `roster version` prints
// it and /metrics exports it as roster_build_info.
type Build struct {
	// Version is the main module's version: a tag (v1.4.0) when built by
	// `go install github.com/rosterhq/roster/cmd/roster@v1.4.0`, a pseudo
	// version from the checkout's commit on Go 1.24+ with VCS stamping,
	// else "(devel)".
	Version string
	// Revision is the commit built from (vcs.revision), "" when the build
	// was not stamped (outside a checkout, or -buildvcs=false).
	Revision string
	// Modified: the checkout had changes not committed (vcs.modified).
	Modified bool
	// GoVersion is the Go toolchain that built it (go1.26.8).
	GoVersion string
}

// ReadBuild returns this binary's Build.
func ReadBuild() Build {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Build{Version: "(devel)", GoVersion: runtime.Version()}
	}
	return BuildFrom(info)
}

// BuildFrom reads a Build from build information.
func BuildFrom(info *debug.BuildInfo) Build {
	b := Build{Version: info.Main.Version, GoVersion: info.GoVersion}
	if b.Version == "" {
		b.Version = "(devel)" // a test binary has none
	}
	if b.GoVersion == "" {
		b.GoVersion = runtime.Version()
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// RevisionLabel is the revision as roster_build_info's label has it: the
// commit, with "-modified" when the checkout had uncommitted changes;
// "unknown" when the build was not stamped.
func (b Build) RevisionLabel() string {
	switch {
	case b.Revision == "":
		return "unknown"
	case b.Modified:
		return b.Revision + "-modified"
	}
	return b.Revision
}
