package fakenotion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiHandler serves one API route. id is the path's object id ("" for
// routes without one); body is the parsed JSON body of a POST or PATCH.
type apiHandler func(c *call, id string, body map[string]any)

// serveAPI answers a /v1 call that was not injected: token first (like
// Notion, before any other work, so a rejected call never applies
// anything), then Notion-Version, then the route, then the body.
func (s *Server) serveAPI(c *call) {
	if c.token == "" {
		c.fail(http.StatusUnauthorized, "unauthorized", msgUnauthorized, OutcomeMissingToken)
		return
	}
	s.mu.Lock()
	valid := s.tokens[c.token]
	s.mu.Unlock()
	if !valid {
		c.fail(http.StatusUnauthorized, "unauthorized", msgUnauthorized, OutcomeInvalidToken)
		return
	}
	if c.r.Header.Get("Notion-Version") == "" {
		c.fail(http.StatusBadRequest, "missing_version", msgMissingVersion, OutcomeMissingVersion)
		return
	}
	handler, id := route(c.r.Method, c.r.URL.Path)
	if handler == nil {
		c.fail(http.StatusBadRequest, "invalid_request_url", msgInvalidURL, OutcomeInvalidRequestURL)
		return
	}
	var body map[string]any
	if c.r.Method == http.MethodPost || c.r.Method == http.MethodPatch {
		var ok bool
		if body, ok = c.parseBody(); !ok {
			return
		}
	}
	handler(c, id, body)
}

// route finds the handler of a method and path, and the path's id.
func route(method, path string) (apiHandler, string) {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return nil, ""
	}
	seg := strings.Split(rest, "/")
	var key, id string
	switch {
	case len(seg) == 2 && seg[0] == "users" && seg[1] == "me":
		key = "users/me"
	case len(seg) == 1:
		key = seg[0]
	case len(seg) == 2 && seg[1] != "":
		key, id = seg[0]+"/{id}", seg[1]
	case len(seg) == 3 && seg[1] != "":
		key, id = seg[0]+"/{id}/"+seg[2], seg[1]
	default:
		return nil, ""
	}
	switch method + " " + key {
	case "GET users/me":
		return getSelf, ""
	case "GET users":
		return listUsers, ""
	case "GET users/{id}":
		return getUser, id
	case "POST pages":
		return createPage, ""
	case "GET pages/{id}":
		return getPage, id
	case "PATCH pages/{id}":
		return updatePage, id
	case "GET blocks/{id}":
		return getBlock, id
	case "PATCH blocks/{id}":
		return updateBlock, id
	case "DELETE blocks/{id}":
		return deleteBlock, id
	case "GET blocks/{id}/children":
		return listChildren, id
	case "PATCH blocks/{id}/children":
		return appendChildren, id
	case "POST search":
		return search, ""
	case "GET databases/{id}":
		return getDatabase, id
	case "POST databases/{id}/query":
		return queryDatabase, id
	case "GET data_sources/{id}":
		return getDataSource, id
	case "POST data_sources/{id}/query":
		return queryDataSource, id
	case "GET comments":
		return listComments, ""
	case "POST comments":
		return createComment, ""
	}
	return nil, ""
}

// parseBody parses a JSON object body; an empty body is {}. On failure it
// answers Notion's error and reports false.
func (c *call) parseBody() (map[string]any, bool) {
	trimmed := bytes.TrimSpace(c.body)
	if len(trimmed) == 0 {
		return map[string]any{}, true
	}
	var v any
	if err := json.Unmarshal(trimmed, &v); err != nil {
		c.fail(http.StatusBadRequest, "invalid_json", msgInvalidJSON, OutcomeInvalidJSON)
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.invalid("body should be an object")
		return nil, false
	}
	return obj, true
}

// invalid answers 400 validation_error.
func (c *call) invalid(what string) {
	c.fail(http.StatusBadRequest, "validation_error", "body failed validation: "+what+".", OutcomeValidationError)
}

// applyLocked counts this call as an applied write. s.mu must be held.
func (c *call) applyLocked() {
	key := c.r.Header.Get("X-Test-Call-Id")
	if key == "" {
		key = fmt.Sprintf("%s %s %s", c.r.Method, c.r.URL.Path, c.sum[:12])
	}
	c.s.applied[key]++
}

// isNewAPI reports whether the call asked for the data-source API version
// (2025-09-03 or later), whose lists say "page_or_data_source".
func (c *call) isNewAPI() bool {
	return c.r.Header.Get("Notion-Version") >= "2025-09-03"
}

// pageSize reads page_size from the body, or else from the query.
func (c *call) pageSize(body map[string]any) int {
	if n, ok := body["page_size"].(float64); ok {
		return int(n)
	}
	n, _ := strconv.Atoi(c.r.URL.Query().Get("page_size"))
	return n
}

// startCursor reads start_cursor from the body, or else from the query.
func (c *call) startCursor(body map[string]any) string {
	if cursor, ok := body["start_cursor"].(string); ok {
		return cursor
	}
	return c.r.URL.Query().Get("start_cursor")
}

// now is the current time in Notion's format.
func now() string { return notionTime(time.Now()) }

// getSelf answers GET /v1/users/me: the bot user of every valid token.
func getSelf(c *call, _ string, _ map[string]any) { c.ok(botUser()) }

// listUsers answers GET /v1/users.
func listUsers(c *call, _ string, _ map[string]any) {
	results, next := paginate([]map[string]any{botUser(), personUser(PersonUserID)}, c.startCursor(nil), c.pageSize(nil))
	c.ok(list("user", results, next))
}

// getUser answers GET /v1/users/{id}: the bot, or a person with that id.
func getUser(c *call, id string, _ map[string]any) {
	if id == BotUserID {
		c.ok(botUser())
		return
	}
	c.ok(personUser(id))
}

// pagesLocked returns the stored pages (not in trash) that keep says to.
// s.mu must be held.
func (w *world) pagesLocked(keep func(page map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, id := range w.pageOrder {
		page := w.pages[id]
		if trashed, _ := page["in_trash"].(bool); trashed || !keep(page) {
			continue
		}
		out = append(out, page)
	}
	return out
}

// search answers POST /v1/search: stored pages whose title contains query.
func search(c *call, _ string, body map[string]any) {
	query, _ := body["query"].(string)
	query = strings.ToLower(query)
	c.s.mu.Lock()
	pages := c.s.world.pagesLocked(func(page map[string]any) bool {
		return strings.Contains(strings.ToLower(titleOf(page)), query)
	})
	c.s.mu.Unlock()
	typ := "page_or_database"
	if c.isNewAPI() {
		typ = "page_or_data_source"
	}
	results, next := paginate(pages, c.startCursor(body), c.pageSize(body))
	c.ok(list(typ, results, next))
}

// queryParent answers a database or data source query: the stored pages
// whose parent has that id under key.
func queryParent(c *call, key, id, typ string, body map[string]any) {
	c.s.mu.Lock()
	pages := c.s.world.pagesLocked(func(page map[string]any) bool {
		parent, _ := page["parent"].(map[string]any)
		return parent[key] == id
	})
	c.s.mu.Unlock()
	results, next := paginate(pages, c.startCursor(body), c.pageSize(body))
	c.ok(list(typ, results, next))
}

// queryDatabase answers POST /v1/databases/{id}/query.
func queryDatabase(c *call, id string, body map[string]any) {
	queryParent(c, "database_id", id, "page_or_database", body)
}

// queryDataSource answers POST /v1/data_sources/{id}/query.
func queryDataSource(c *call, id string, body map[string]any) {
	queryParent(c, "data_source_id", id, "page_or_data_source", body)
}

// getDatabase answers GET /v1/databases/{id}.
func getDatabase(c *call, id string, _ map[string]any) { c.ok(database(id, now())) }

// getDataSource answers GET /v1/data_sources/{id}.
func getDataSource(c *call, id string, _ map[string]any) { c.ok(dataSource(id, now())) }
