package metrics_test

import (
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
