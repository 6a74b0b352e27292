package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/docs"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
)

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	slug := chi.URLParam(r, "slug")
	if store.ValidSlug(slug) != nil { // not a slug: the database is not asked
		h.fail(w, r, arena.Errorf(arena.ENOTFOUND, "there is no challenge %q", slug))
		return
	}
	c, err := h.store.Challenge(ctx, slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	entries, err := h.store.Leaderboard(ctx, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recent, err := h.store.Submissions(ctx, c.ID, 0, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rounds, err := h.store.Rounds(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slices.Reverse(rounds) // the current round first
	var champ *arena.Champion
	if ch, err := h.store.Champion(ctx, c); err == nil {
		champ = &ch
	} else if arena.ErrorCode(err) != arena.ENOTFOUND {
		h.fail(w, r, err)
		return
	}
	history, err := h.store.Crownings(ctx, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	toBeat := c.Rules.Margin
	if champ != nil {
		toBeat += max(0, champ.Score)
	}
	var abi []string
	if b, err := scoring.New(c.Kind, c.Params); err == nil {
		abi = b.ABI().Describe()
	}
	doc := ""
	if _, err := docs.FS.Open(c.Kind + ".md"); err == nil {
		doc = "/docs/" + c.Kind + ".md"
	}
	h.render(w, r, http.StatusOK, "challenge", map[string]any{
		"Title": c.Title, "Challenge": c, "Params": paramRows(c.Params), "Entries": entries,
		"Recent": recent, "Champion": champ, "ScoreToBeat": toBeat, "Rounds": rounds,
		"History": history, "HistoryChart": historyChart(history, c.Rules.Margin, time.Now()),
		"ABI": abi, "Doc": doc,
	})
}

// paramRow is one parameter of a challenge, flattened for a table.
type paramRow struct{ Name, Value string }

// paramRows flattens a kind's parameters (any JSON object) into rows:
// nested objects as dotted names, lists and scalars as they read.
func paramRows(raw json.RawMessage) []paramRow {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var rows []paramRow
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, v[k])
			}
		case []any:
			parts := make([]string, len(v))
			for i, e := range v {
				b, _ := json.Marshal(e)
				parts[i] = strings.Trim(string(b), `"`)
			}
			rows = append(rows, paramRow{prefix, strings.Join(parts, ", ")})
		case string:
			rows = append(rows, paramRow{prefix, v})
		default:
			b, _ := json.Marshal(v)
			rows = append(rows, paramRow{prefix, string(b)})
		}
	}
	walk("", v)
	return rows
}

// chart is what static/arena.js draws with uPlot: series of (x, y)
// points on shared axes. The page shows the same numbers in a table for
// readers without scripts or sight.
type chart struct {
	Title  string   `json:"title"`
	X      axis     `json:"x"`
	Y      axis     `json:"y"`
	Series []series `json:"series"`
}

type axis struct {
	Label string `json:"label"`
	Time  bool   `json:"time,omitempty"` // x in Unix seconds
	Log   bool   `json:"log,omitempty"`
}

type series struct {
	Label  string       `json:"label"`
	Color  string       `json:"color"`
	Dash   bool         `json:"dash,omitempty"`
	Step   bool         `json:"step,omitempty"` // holds its value until the next point
	Points [][2]float64 `json:"points"`
}

// Series colours: the pages' accent for the submission or champion, amber
// for the baseline or the bar (the champion box's border).
const (
	colorMain = "#2f5bd3"
	colorBar  = "#d4a72c"
)

// historyChart charts the champion's official score at each crowning
// still standing, and the score to beat after it, as steps held until
// now. Nil without a crowning.
func historyChart(history []arena.Crowning, margin float64, now time.Time) *chart {
	var champ, bar [][2]float64
	for _, c := range history {
		if c.Disqualified {
			continue
		}
		x := float64(c.CrownedAt.Unix())
		champ = append(champ, [2]float64{x, c.Score})
		bar = append(bar, [2]float64{x, max(0, c.Score) + margin})
	}
	if len(champ) == 0 {
		return nil
	}
	end := float64(now.Unix())
	if last := champ[len(champ)-1][0]; end <= last {
		end = last + 1
	}
	champ = append(champ, [2]float64{end, champ[len(champ)-1][1]})
	bar = append(bar, [2]float64{end, bar[len(bar)-1][1]})
	return &chart{
		Title: "The champion's score over time",
		X:     axis{Label: "time", Time: true},
		Y:     axis{Label: "official score"},
		Series: []series{
			{Label: "champion's score", Color: colorMain, Step: true, Points: champ},
			{Label: fmt.Sprintf("score to beat (+%g margin)", margin), Color: colorBar, Dash: true, Step: true, Points: bar},
		},
	}
}
