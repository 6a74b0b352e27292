package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/arena-dev/arena"
)

func (s *Server) champion(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	champ, err := s.Store.Champion(r.Context(), c)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, champ)
}

// championModule serves the champion's bytes.
func (s *Server) championModule(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	champ, module, err := s.Store.ChampionModule(r.Context(), c)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	serveModule(w, r, champ.SubmissionID, champ.SHA256, c.Slug+"-champion.wasm", module)
}

// serveModule sends module bytes; the ETag is their sha256, so clients
// can poll cheaply with If-None-Match.
func serveModule(w http.ResponseWriter, r *http.Request, submissionID, sha256, filename string, module []byte) {
	etag := `"` + sha256 + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("X-Arena-Submission", submissionID)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set("Content-Length", strconv.Itoa(len(module)))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, filename))
	_, _ = w.Write(module)
}

// championEvents streams champion changes as server-sent events: the
// current champion first (when there is one), then each new one.
func (s *Server) championEvents(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	s.stream(w, r, "champion", func(fn func([]byte)) (func(), error) { return s.Queue.SubscribeChampion(c.Slug, fn) },
		func() ([]byte, bool, error) {
			champ, err := s.Store.Champion(r.Context(), c)
			if arena.ErrorCode(err) == arena.ENOTFOUND {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			data, err := json.Marshal(champ)
			return data, false, err
		}, nil)
}

// stream serves server-sent events of one kind: it subscribes first, so
// nothing falls between, then sends what current says (if anything) and
// each event after it, until the client leaves, or until current or last
// says the stream is over.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, event string,
	subscribe func(func([]byte)) (func(), error), current func() (data []byte, done bool, err error), last func([]byte) bool) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.Error(w, r, fmt.Errorf("response writer cannot stream"))
		return
	}
	client := clientKey(r)
	if !s.streams.take(client) {
		s.Error(w, r, arena.Errorf(arena.ERATELIMITED, "too many event streams open: close one first (at most %d per client)", maxStreamsPerClient))
		return
	}
	defer s.streams.give(client)
	events := make(chan []byte, 8)
	stop, err := subscribe(func(data []byte) {
		select {
		case events <- data:
		default: // a slow reader misses intermediate events, never the connection
		}
	})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer stop()
	now, done, err := current()
	if err != nil {
		s.Error(w, r, err)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(data []byte) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		flusher.Flush()
	}
	if now != nil {
		send(now)
	} else {
		flusher.Flush() // the client learns the stream is open now, not at the first keep-alive
	}
	if done {
		return
	}
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case data := <-events:
			send(data)
			if last != nil && last(data) {
				return
			}
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		}
	}
}

// streamSnapshots serves server-sent events of one kind, each a snapshot
// that current reads afresh: once at the start, again whenever subscribe
// says something changed, and every poll for what changes without an
// announcement. A snapshot equal to the last one sent is not sent again;
// the stream ends after a final one.
func (s *Server) streamSnapshots(w http.ResponseWriter, r *http.Request, event string, poll time.Duration,
	subscribe func(func([]byte)) (func(), error), current func() (data []byte, done bool, err error)) {
	changed := make(chan struct{}, 1)
	var mu sync.Mutex // last: the first snapshot is read on the handler's goroutine, the rest on the poller's
	var last []byte
	s.stream(w, r, event, func(fn func([]byte)) (func(), error) {
		stop, err := subscribe(func([]byte) {
			select {
			case changed <- struct{}{}:
			default: // one wake-up stands for any number of changes
			}
		})
		if err != nil {
			return nil, err
		}
		// Snapshots go through stream's own event channel, from here.
		done := make(chan struct{})
		go func() {
			tick := time.NewTicker(poll)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-r.Context().Done():
					return
				case <-changed:
				case <-tick.C:
				}
				data, final, err := current()
				if err != nil {
					if r.Context().Err() == nil {
						s.Logger.Warn("event stream snapshot", "event", event, "err", err)
					}
					continue
				}
				mu.Lock()
				same := bytes.Equal(data, last)
				last = data
				mu.Unlock()
				if same && !final {
					continue
				}
				fn(data)
				if final {
					return
				}
			}
		}()
		return func() { close(done); stop() }, nil
	}, func() ([]byte, bool, error) {
		data, final, err := current()
		mu.Lock()
		last = data
		mu.Unlock()
		return data, final, err
	}, func(data []byte) bool {
		var sub struct{ Status arena.Status }
		return json.Unmarshal(data, &sub) == nil && sub.Status.Final()
	})
}

// championHistory lists every change of the crown, oldest first, so a
// page (or a trainer) can chart the champion's score over time.
func (s *Server) championHistory(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	hist, err := s.Store.Crownings(r.Context(), c.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if hist == nil {
		hist = []arena.Crowning{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"margin": c.Rules.Margin, "crownings": hist})
}
