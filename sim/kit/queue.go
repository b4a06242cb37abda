package kit

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Queue is a time-ordered queue of jobs that one dispatcher hands to a fixed pool of workers, so any
// number of pending jobs costs no goroutines and the endpoint that schedules one never waits. Jobs due at
// the same moment run in the order they were scheduled (as far as the pool allows). Clear drops every
// job not yet started; Close stops the dispatcher and the workers.
type Queue[J any] struct {
	run  func(J)
	gen  atomic.Uint64 // bumped by Clear: jobs of an earlier generation are dropped
	wake chan struct{}
	jobs chan *entry[J]
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu   sync.Mutex // guards heap and seq
	heap entries[J]
	seq  uint64
}

type entry[J any] struct {
	at       time.Time
	seq, gen uint64
	job      J
}

// NewQueue starts a queue whose workers (at least one) run each job with run when it is due.
func NewQueue[J any](workers int, run func(J)) *Queue[J] {
	q := &Queue[J]{run: run, wake: make(chan struct{}, 1), jobs: make(chan *entry[J]), done: make(chan struct{})}
	workers = max(workers, 1)
	q.wg.Add(1 + workers)
	go q.dispatch()
	for range workers {
		go q.work()
	}
	return q
}

// Schedule queues job to run at (or soon after) at. It never blocks for long, so it may be called with
// the caller's own locks held.
func (q *Queue[J]) Schedule(at time.Time, job J) {
	e := &entry[J]{at: at, gen: q.gen.Load(), job: job}
	q.mu.Lock()
	q.seq++
	e.seq = q.seq
	heap.Push(&q.heap, e)
	first := q.heap[0] == e
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// Len is how many jobs wait.
func (q *Queue[J]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.heap)
}

// Clear drops every job scheduled so far that has not started.
func (q *Queue[J]) Clear() {
	q.gen.Add(1)
	q.mu.Lock()
	q.heap = nil
	q.mu.Unlock()
}

// Close stops the dispatcher and the workers, waiting for jobs already running; the rest are dropped.
func (q *Queue[J]) Close() {
	q.once.Do(func() { close(q.done) })
	q.wg.Wait()
}

func (q *Queue[J]) dispatch() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next *entry[J]
		wait := time.Hour
		q.mu.Lock()
		if len(q.heap) > 0 {
			if d := time.Until(q.heap[0].at); d <= 0 {
				next = heap.Pop(&q.heap).(*entry[J])
			} else {
				wait = d
			}
		}
		q.mu.Unlock()
		if next != nil {
			select {
			case q.jobs <- next:
			case <-q.done:
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-q.wake:
		case <-q.done:
			return
		}
	}
}

func (q *Queue[J]) work() {
	defer q.wg.Done()
	for {
		select {
		case e := <-q.jobs:
			if e.gen == q.gen.Load() {
				q.run(e.job)
			}
		case <-q.done:
			return
		}
	}
}

// entries is a min-heap by time, then by the order of scheduling.
type entries[J any] []*entry[J]

func (h entries[J]) Len() int { return len(h) }
func (h entries[J]) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h entries[J]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entries[J]) Push(x any)   { *h = append(*h, x.(*entry[J])) }
func (h *entries[J]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
