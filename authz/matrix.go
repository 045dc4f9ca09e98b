// Package authz is the role matrix and the permission check that every
// read and write of an account goes through. The matrix is product data,
// embedded from permissions.csv (a copy of SPEC's file, held to it cell by
// cell by a test); the check answers from an in-memory index.
package authz

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
)

//go:embed permissions.csv
var matrixCSV string

// Matrix has, for each role, bit p set when the role holds permission p.
// Index 0 is RoleNone, which holds nothing.
type Matrix [roster.RoleSupport + 1]uint32

// masks is the product's matrix.
var masks Matrix

func init() {
	m, err := ParseMatrix(matrixCSV)
	if err != nil {
		panic("authz: embedded permissions.csv: " + err.Error())
	}
	masks = m
}

// ParseMatrix parses a permissions.csv: a header "permission,<role>..." and
// one row per permission with 1 or 0 per role. Every role and every
// permission must appear exactly once.
func ParseMatrix(data string) (Matrix, error) {
	var out Matrix
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		return out, err
	}
	if len(rows) < 1 || len(rows[0]) != len(roster.Roles)+1 || rows[0][0] != "permission" {
		return out, fmt.Errorf("header must be permission and the %d roles", len(roster.Roles))
	}
	cols := make([]roster.Role, len(rows[0]))
	seenRole := map[roster.Role]bool{}
	for i, name := range rows[0][1:] {
		r, err := roster.ParseRole(name)
		if err != nil || seenRole[r] {
			return out, fmt.Errorf("column %q: unknown or repeated role", name)
		}
		cols[i+1], seenRole[r] = r, true
	}
	seen := map[roster.Permission]bool{}
	for _, row := range rows[1:] {
		p, ok := roster.ParsePermission(row[0])
		if !ok || seen[p] {
			return out, fmt.Errorf("row %q: unknown or repeated permission", row[0])
		}
		seen[p] = true
		for i, cell := range row[1:] {
			switch cell {
			case "1":
				out[cols[i+1]] |= 1 << p
			case "0":
			default:
				return out, fmt.Errorf("row %s, column %s: %q is neither 1 nor 0", row[0], cols[i+1], cell)
			}
		}
	}
	if len(seen) != roster.NumPermissions {
		return out, fmt.Errorf("%d permissions listed, want %d", len(seen), roster.NumPermissions)
	}
	return out, nil
}

// Allowed reports whether the role holds the permission.
func Allowed(r roster.Role, p roster.Permission) bool {
	return int(r) < len(masks) && masks[r]&(1<<p) != 0
}

// Mask returns the role's permissions as a bitmask (bit p for Permission p).
func Mask(r roster.Role) uint32 {
	if int(r) >= len(masks) {
		return 0
	}
	return masks[r]
}

// Permissions lists the role's permissions in the matrix's order.
func Permissions(r roster.Role) []roster.Permission {
	var out []roster.Permission
	for _, p := range roster.AllPermissions {
		if Allowed(r, p) {
			out = append(out, p)
		}
	}
	return out
}

// RolesWith lists the roles that hold the permission, in role order
// (roster.Roles).
func RolesWith(p roster.Permission) []roster.Role {
	var out []roster.Role
	for _, r := range roster.Roles {
		if Allowed(r, p) {
			out = append(out, r)
		}
	}
	return out
}
