package access_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
)

// Requests at the client's full concurrency reuse kept-alive connections: about as many are opened as may
// be in flight at once (the default transport kept two idle, and opened 718 for these 2000 requests). A
// connection goes back to the idle pool a moment after its answer is read, so a request may open one more
// meanwhile: twice the concurrency is allowed.
func TestHTTPClientReusesConnections(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	const concurrent = 16
	hc := access.NewHTTPClient(access.HTTPOptions{MaxConcurrent: concurrent})
	var g errgroup.Group
	g.SetLimit(2 * concurrent)
	for range 2000 {
		g.Go(func() error {
			_, _, err := access.Exchange(context.Background(), hc, http.MethodGet, srv.URL, nil, "", "")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := opened.Load(); n > 2*concurrent {
		t.Fatalf("2000 requests, %d at once, opened %d connections", concurrent, n)
	}
}
