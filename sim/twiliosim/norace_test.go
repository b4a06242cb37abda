//go:build !race

package twiliosim_test

const raceEnabled = false
