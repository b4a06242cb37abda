package restacs

import (
	"embed"
	"fmt"
)

// Examples holds the shipped configurations: examples/gallagher.yaml and examples/openpath.yaml.
//
//go:embed examples/*.yaml
var Examples embed.FS

// Example loads a shipped configuration by name ("gallagher", "openpath").
func Example(name string) (Config, error) {
	data, err := Examples.ReadFile("examples/" + name + ".yaml")
	if err != nil {
		return Config{}, fmt.Errorf("restacs: no example %q", name)
	}
	return Load(data)
}
