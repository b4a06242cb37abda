package api

import (
	"io"
	"time"

	"github.com/gin-contrib/sse"
	"github.com/gin-gonic/gin"
)

// streamSSE answers with Server-Sent Events until the client goes or the server stops (EndStreams): it
// calls next, writes the events it returns and flushes them at once, then waits every before calling it
// again, unless next says more are waiting. A comment line keeps an idle stream open (and opens it at once
// when there is nothing yet). An error from next ends the stream.
func (s *Server) streamSSE(c *gin.Context, every time.Duration, next func() (events []sse.Event, more bool, err error)) {
	s.openStreams.Add(1)
	defer s.openStreams.Add(-1)
	// Set before the first flush: with nothing to send the headers go out before any event, and an
	// EventSource refuses a stream that is not text/event-stream.
	c.Header("Content-Type", sse.ContentType)
	c.Header("Cache-Control", "no-store")
	c.Header("X-Accel-Buffering", "no")
	poll := time.NewTicker(every)
	defer poll.Stop()
	idle, wait := 0, false
	c.Stream(func(w io.Writer) bool {
		// Each step waits first, then writes: what it writes is flushed when it returns, at once.
		if wait {
			select {
			case <-c.Request.Context().Done():
				return false
			case <-s.streamsEnd:
				return false
			case <-poll.C:
			}
		} else {
			select {
			case <-s.streamsEnd:
				return false
			default:
			}
		}
		events, more, err := next()
		if err != nil {
			return false
		}
		for _, e := range events {
			c.Render(-1, e)
		}
		if idle++; len(events) > 0 {
			idle = 0
		} else if idle%15 == 1 {
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		}
		wait = !more
		return true
	})
}
