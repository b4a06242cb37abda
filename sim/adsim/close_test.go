package adsim_test

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/signetassure/signetassure/sim/adsim"
)

// Close returns, and stops listening, while a client keeps a connection open.
func TestCloseWithOpenConnection(t *testing.T) {
	s, err := adsim.Start(adsim.DemoDirectory(), adsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Close(); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Close with a connection a client keeps: %v after %v", err, time.Since(start))
	}
	if _, err := ldap.DialURL(s.URL()); err == nil {
		t.Error("still listening after Close")
	}
}
