package api

import (
	"net/http"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// reports serves GET /api/reports?from=&to=&team=: the days from from to to
// (YYYY-MM-DD, UTC; the last 7 days by default) of one team, or of every
// team of the routing document, from the stream's daily rollups.
func (h *Handler) reports(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "from" && k != "to" && k != "team" {
			writeError(w, http.StatusBadRequest, "invalid", "unknown parameter "+k+" (allowed: from, to, team)")
			return
		}
	}
	now := time.Now().UTC()
	from, to := q.Get("from"), q.Get("to")
	if to == "" {
		to = conversation.Day(now)
	}
	if from == "" {
		from = conversation.Day(now.AddDate(0, 0, -6))
	}
	teams := []string{q.Get("team")}
	if teams[0] == "" {
		teams = []string{h.service().Team}
		if h.Agents != nil {
			teams = h.Agents.TeamIDs()
		}
	}
	rep, err := conversation.BuildReport(r.Context(), h.Store, teams, from, to)
	if err != nil {
		h.fail(w, r, "api.reports", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": rep})
}
