package roster_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LICENSE is the Apache License 2.0, the standard text unchanged; NOTICE
// names every data list the binary embeds (each *.txt under a data/
// folder) and the licence file beside it, so a list added without its
// notice fails here.
func TestLicenceAndNotice(t *testing.T) {
	lic, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	// The SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt as
	// projects ship it (grpc-go, Kubernetes, OpenFGA).
	const apache2 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
	if sum := sha256.Sum256(lic); hex.EncodeToString(sum[:]) != apache2 {
		t.Errorf("LICENSE is not the standard Apache License 2.0 text (sha256 %x)", sum)
	}
	notice, err := os.ReadFile("NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	lists, err := filepath.Glob("*/data/*.txt")
	if err != nil || len(lists) < 3 {
		t.Fatalf("data lists %v %v", lists, err)
	}
	licences, _ := filepath.Glob("*/data/LICENSE.*")
	for _, f := range append(lists, licences...) {
		if !strings.Contains(string(notice), filepath.ToSlash(f)) {
			t.Errorf("NOTICE does not name %s", f)
		}
	}
	for _, want := range []string{"Roster", "Apache License, Version 2.0", "Public Suffix List", "Mozilla Public License 2.0"} {
		if !strings.Contains(string(notice), want) {
			t.Errorf("NOTICE does not say %q", want)
		}
	}
}
