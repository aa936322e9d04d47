package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
)

// TestInboxAPI: filters (assignee=me names the caller), pages by the signed
// cursor to the end, and a cursor that was changed or belongs to another
// listing is a 400 that lists nothing.
func TestInboxAPI(t *testing.T) {
	svc := &conversation.Service{Team: "support"}
	st := memstore.New(func(m conversation.Message) { _, _ = svc.Project(context.Background(), m) })
	svc.Store = st
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Token: token, Tokens: map[string]string{"ben-token": "ben"}}).Register(mux)

	var mine []string
	for i := range 7 {
		res := ingest(t, svc, fmt.Sprint("SMi", i), fmt.Sprintf("+1415555%04d", 7000+i), conversation.ChannelSMS, "hi")
		if i%2 == 0 {
			if _, err := svc.Update(context.Background(), res.Message.ConversationID, "dev", conversation.Patch{Assignee: strp("ben")}, nil); err != nil {
				t.Fatal(err)
			}
			mine = append([]string{res.Message.ConversationID}, mine...) // newest first
		}
	}
	listAll := func(query, tok string) []string {
		var ids []string
		path := "/api/conversations?" + query
		for pages := 0; ; pages++ {
			code, body := get(t, mux, path, tok)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %v", path, code, body)
			}
			for _, c := range body["conversations"].([]any) {
				ids = append(ids, c.(map[string]any)["id"].(string))
			}
			next, ok := body["next"].(string)
			if !ok {
				return ids
			}
			if pages > 10 {
				t.Fatal("listing never ends")
			}
			path = "/api/conversations?" + query + "&cursor=" + url.QueryEscape(next)
		}
	}
	if got := listAll("assignee=me&limit=2", "ben-token"); strings.Join(got, ",") != strings.Join(mine, ",") {
		t.Errorf("ben's: %v, want %v", got, mine)
	}
	if got := listAll("assignee=ben&limit=3", token); len(got) != 4 {
		t.Errorf("assignee=ben: %v", got)
	}
	if got := listAll("assignee=none", token); len(got) != 3 {
		t.Errorf("unassigned: %v", got)
	}
	if got := listAll("assignee=me", token); len(got) != 0 {
		t.Errorf("dev's: %v, want none", got)
	}
	if got := listAll("limit=1", token); len(got) != 7 {
		t.Errorf("all open, a page of one at a time: %d", len(got))
	}

	_, body := get(t, mux, "/api/conversations?limit=2", token)
	next := body["next"].(string)
	payload, sig, _ := strings.Cut(next, ".")
	forged := strings.ToUpper(payload[:1]) + payload[1:]
	if forged == payload {
		forged = strings.ToLower(payload[:1]) + payload[1:]
	}
	for name, path := range map[string]string{
		"changed payload":  "/api/conversations?limit=2&cursor=" + url.QueryEscape(forged+"."+sig),
		"no signature":     "/api/conversations?limit=2&cursor=" + url.QueryEscape(payload),
		"another listing":  "/api/conversations?limit=2&status=closed&cursor=" + url.QueryEscape(next),
		"another filter":   "/api/conversations?limit=2&team=sales&cursor=" + url.QueryEscape(next),
		"garbage":          "/api/conversations?cursor=%%%",
		"unknown param":    "/api/conversations?sort=oldest",
		"limit over 100":   "/api/conversations?limit=101",
		"status not known": "/api/conversations?status=pending",
	} {
		code, body := get(t, mux, path, token)
		if code != http.StatusBadRequest || body["code"] == nil || body["conversations"] != nil {
			t.Errorf("%s: %d %v, want a 400 error", name, code, body)
		}
	}
	if code, body := get(t, mux, "/api/conversations?limit=2&cursor="+url.QueryEscape(next), token); code != http.StatusOK || len(body["conversations"].([]any)) != 2 {
		t.Errorf("the cursor as given: %d %v", code, body)
	}
}

func strp(s string) *string { return &s }
