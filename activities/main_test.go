package activities_test

import (
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
)

// TestMain stops the Temporal dev server the tests and benchmarks start.
func TestMain(m *testing.M) { testenv.Main(m) }
