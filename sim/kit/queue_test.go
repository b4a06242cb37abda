package kit

import (
	"sync"
	"testing"
	"time"
)

func TestQueueRunsJobsInTimeOrder(t *testing.T) {
	var mu sync.Mutex
	var got []int
	done := make(chan struct{}, 3)
	q := NewQueue(1, func(n int) {
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		done <- struct{}{}
	})
	defer q.Close()
	now := time.Now()
	q.Schedule(now.Add(40*time.Millisecond), 3)
	q.Schedule(now.Add(20*time.Millisecond), 2)
	q.Schedule(now, 1)
	for range 3 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("jobs did not run")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("ran %v, want [1 2 3]", got)
	}
}

func TestQueueClearDropsPendingJobs(t *testing.T) {
	ran := make(chan int, 2)
	q := NewQueue(2, func(n int) { ran <- n })
	defer q.Close()
	q.Schedule(time.Now().Add(30*time.Millisecond), 1)
	q.Clear()
	if q.Len() != 0 {
		t.Fatalf("Len after Clear = %d", q.Len())
	}
	q.Schedule(time.Now().Add(30*time.Millisecond), 2)
	select {
	case n := <-ran:
		if n != 2 {
			t.Fatalf("ran %d, want only the job scheduled after Clear", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job scheduled after Clear did not run")
	}
	select {
	case n := <-ran:
		t.Fatalf("also ran %d", n)
	case <-time.After(100 * time.Millisecond):
	}
}
