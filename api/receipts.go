package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
)

// receiptKey publishes the key receipts are signed with. A verifier should
// pin it rather than fetch it next to every receipt.
func (s *Server) receiptKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"algorithm": "ed25519", "public_key": s.Signer.PublicKey()})
}

// getReceipt returns a submission's signed receipt: of its latest
// evaluation, or of the one in ?round=N. Receipts carry metrics, never
// logs or unrevealed seeds, so anyone may read them.
func (s *Server) getReceipt(w http.ResponseWriter, r *http.Request) {
	round := 0
	if q := r.URL.Query().Get("round"); q != "" {
		// Rounds are Postgres integers: a number past 2^31-1 is none.
		n, err := strconv.ParseInt(q, 10, 32)
		if err != nil || n < 1 {
			s.Error(w, r, arena.Errorf(arena.EINVALID, "round %q is not a round number (1, 2, ... 2147483647)", q))
			return
		}
		round = int(n)
	}
	sr, err := s.Store.Receipt(r.Context(), chi.URLParam(r, "id"), round)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	// body is what verifies; receipt repeats it decoded, for reading.
	writeJSON(w, http.StatusOK, struct {
		arena.SignedReceipt
		Receipt json.RawMessage `json:"receipt"`
	}{sr, sr.Body})
}
