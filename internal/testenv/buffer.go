package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer that goroutines may write while a test reads it: a process's output, a logger's
// lines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// LogLine is the first JSON log line in logs whose fields include every one of want (compared as
// JSON decodes them); the test fails when there is none.
func LogLine(t testing.TB, logs string, want map[string]any) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		for k, v := range want {
			if m[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no log line with %v in:\n%s", want, logs)
	return nil
}
