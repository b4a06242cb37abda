//go:build !linux

package testenv

import "os/exec"

// DieWithParent: only Linux can tie a child's life to its parent's.
func DieWithParent(*exec.Cmd) {}

// dyingWithParent: only Linux can; exe itself.
func dyingWithParent(exe, _ string) (string, error) { return exe, nil }
