package actors

import (
	"strings"
	"testing"
)

// TestFoldNameMatchesEqualFold: two names share a foldName key exactly
// when strings.EqualFold finds them equal, the rule users' names follow.
func TestFoldNameMatchesEqualFold(t *testing.T) {
	names := []string{"ada", "ADA", "Ada", "adb", "ad", "kim", "\u212aim", "KIM", "mass", "maſs", "MASS",
		"straße", "STRASSE", "ǅemal", "ǆemal", "Ǆemal", "σίσυφος", "ΣΊΣΥΦΟΣ", "σίσυφοσ", "ς", "Σ", "", "é", "É", "e\u0301"}
	for _, a := range names {
		for _, b := range names {
			if got, want := foldName(a) == foldName(b), strings.EqualFold(a, b); got != want {
				t.Errorf("foldName(%q) == foldName(%q) is %v, strings.EqualFold says %v", a, b, got, want)
			}
		}
	}
}
