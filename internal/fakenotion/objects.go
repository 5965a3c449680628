package fakenotion

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strconv"
	"strings"
	"time"
)

// Fixed ids of the fake workspace.
const (
	// BotUserID is the id of the bot user every valid token belongs to
	// (GET /v1/users/me).
	BotUserID = "5d1c0a52-7b6e-4b8e-9d3c-2f4a6b8c0d1e"
	// PersonUserID is the id of the one person user in the workspace.
	PersonUserID = "3a9e7f21-0c4d-4e5f-8a1b-6c7d8e9f0a1b"
	// WorkspaceID is the fake workspace's id (also in OAuth answers).
	WorkspaceID = "8e2d4c6b-1a3f-4d5e-9b7c-0e1f2a3b4c5d"
	// WorkspaceName is the fake workspace's name.
	WorkspaceName = "Fake Notion Workspace"
	botName       = "fakenotion bot"
)

// world is the fake's content. It is guarded by Server.mu. Stored objects
// are copy-on-write: a change stores a new map, never edits a stored one,
// so an object handed to the encoder after the lock is released is stable.
type world struct {
	seq       int
	pages     map[string]map[string]any // page id -> page object
	pageOrder []string                  // page ids in creation order
	blocks    map[string]map[string]any // block id -> block object
	children  map[string][]string       // parent id -> child block ids
	comments  []map[string]any
}

func newWorld() *world {
	return &world{
		pages:    map[string]map[string]any{},
		blocks:   map[string]map[string]any{},
		children: map[string][]string{},
	}
}

// newID returns the next id: a UUID derived from a counter, so a run that
// creates objects in the same order gets the same ids.
func (w *world) newID() string {
	w.seq++
	sum := sha256.Sum256([]byte("fakenotion/" + strconv.Itoa(w.seq)))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// notionTime is Notion's timestamp format (Notion rounds to the minute).
func notionTime(t time.Time) string {
	return t.UTC().Truncate(time.Minute).Format("2006-01-02T15:04:05.000Z")
}

func partialUser(id string) map[string]any {
	return map[string]any{"object": "user", "id": id}
}

func botUser() map[string]any {
	return map[string]any{
		"object":     "user",
		"id":         BotUserID,
		"name":       botName,
		"avatar_url": nil,
		"type":       "bot",
		"bot": map[string]any{
			"owner":            map[string]any{"type": "workspace", "workspace": true},
			"workspace_id":     WorkspaceID,
			"workspace_name":   WorkspaceName,
			"workspace_limits": map[string]any{"max_file_upload_size_in_bytes": 5368709120},
		},
	}
}

func personUser(id string) map[string]any {
	return map[string]any{
		"object":     "user",
		"id":         id,
		"name":       "Ada Lovelace",
		"avatar_url": nil,
		"type":       "person",
		"person":     map[string]any{"email": "ada@example.com"},
	}
}

// list is Notion's paginated list object.
func list(typ string, results []any, nextCursor string) map[string]any {
	var next any
	if nextCursor != "" {
		next = nextCursor
	}
	if results == nil {
		results = []any{}
	}
	return map[string]any{
		"object":      "list",
		"results":     results,
		"next_cursor": next,
		"has_more":    nextCursor != "",
		"type":        typ,
		typ:           map[string]any{},
	}
}

// paginate returns the page of items that starts at the item whose id is
// cursor (the first item if cursor is "" or unknown) and holds at most size
// items (Notion's default and maximum: 100), and the cursor of the next page.
func paginate(items []map[string]any, cursor string, size int) ([]any, string) {
	if size <= 0 || size > 100 {
		size = 100
	}
	start := 0
	for i, item := range items {
		if cursor != "" && item["id"] == cursor {
			start = i
			break
		}
	}
	end := min(start+size, len(items))
	out := make([]any, 0, end-start)
	for _, item := range items[start:end] {
		out = append(out, item)
	}
	if end < len(items) {
		id, _ := items[end]["id"].(string)
		return out, id
	}
	return out, ""
}

// notionURL is the notion.so address of an object.
func notionURL(id string) string {
	return "https://www.notion.so/" + strings.ReplaceAll(id, "-", "")
}

// parentOf turns a request's parent ({"page_id": X}) into Notion's answer
// form ({"type": "page_id", "page_id": X}).
func parentOf(req map[string]any) map[string]any {
	out := maps.Clone(req)
	if _, ok := out["type"].(string); ok {
		return out
	}
	for _, typ := range []string{"page_id", "database_id", "data_source_id", "block_id", "workspace"} {
		if _, ok := out[typ]; ok {
			out["type"] = typ
			return out
		}
	}
	return out
}

// newPage builds a page object.
func newPage(id string, parent, properties map[string]any, now string) map[string]any {
	if properties == nil {
		properties = map[string]any{"title": map[string]any{"id": "title", "type": "title", "title": richText([]any{map[string]any{"text": map[string]any{"content": "Untitled"}}})}}
	}
	return map[string]any{
		"object":           "page",
		"id":               id,
		"created_time":     now,
		"last_edited_time": now,
		"created_by":       partialUser(BotUserID),
		"last_edited_by":   partialUser(BotUserID),
		"cover":            nil,
		"icon":             nil,
		"parent":           parent,
		"in_trash":         false,
		"archived":         false,
		"is_archived":      false,
		"is_locked":        false,
		"properties":       properties,
		"url":              notionURL(id),
		"public_url":       nil,
	}
}

// pageProperties turns request property values into answer form: each gets
// its "type" and an "id", and rich text gets its full shape.
func pageProperties(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for name, value := range in {
		prop, ok := value.(map[string]any)
		if !ok {
			out[name] = value
			continue
		}
		prop = maps.Clone(prop)
		typ, _ := prop["type"].(string)
		if typ == "" {
			for key := range prop {
				if key != "id" && key != "type" {
					typ = key
					break
				}
			}
		}
		if typ != "" {
			prop["type"] = typ
			if items, ok := prop[typ].([]any); ok && (typ == "title" || typ == "rich_text") {
				prop[typ] = richText(items)
			}
		}
		if _, ok := prop["id"]; !ok {
			prop["id"] = propertyID(name, typ)
		}
		out[name] = prop
	}
	return out
}

// propertyID is a short stable property id, "title" for the title.
func propertyID(name, typ string) string {
	if typ == "title" {
		return "title"
	}
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:3])
}

// richText turns request rich text items into answer form.
func richText(items []any) []any {
	out := make([]any, 0, len(items))
	for _, value := range items {
		item, ok := value.(map[string]any)
		if !ok {
			continue
		}
		item = maps.Clone(item)
		if _, ok := item["type"]; !ok {
			item["type"] = "text"
		}
		annotations := map[string]any{"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"}
		if given, ok := item["annotations"].(map[string]any); ok {
			maps.Copy(annotations, given)
		}
		item["annotations"] = annotations
		item["plain_text"], item["href"] = "", nil
		if text, ok := item["text"].(map[string]any); ok {
			text = maps.Clone(text)
			if _, ok := text["link"]; !ok {
				text["link"] = nil
			}
			item["text"] = text
			item["plain_text"], _ = text["content"].(string)
			if link, ok := text["link"].(map[string]any); ok {
				item["href"] = link["url"]
			}
		}
		out = append(out, item)
	}
	return out
}

// titleOf is the plain text of a page's title property.
func titleOf(page map[string]any) string {
	props, _ := page["properties"].(map[string]any)
	for _, value := range props {
		prop, _ := value.(map[string]any)
		if prop["type"] != "title" {
			continue
		}
		items, _ := prop["title"].([]any)
		var b strings.Builder
		for _, v := range items {
			item, _ := v.(map[string]any)
			text, _ := item["plain_text"].(string)
			b.WriteString(text)
		}
		return b.String()
	}
	return ""
}

// newBlock builds a block object from a request child block.
func newBlock(id string, parent map[string]any, req map[string]any, now string) map[string]any {
	typ, _ := req["type"].(string)
	if typ == "" {
		for key := range req {
			if key != "object" && key != "type" {
				typ = key
				break
			}
		}
	}
	if typ == "" {
		typ = "paragraph"
	}
	content, _ := req[typ].(map[string]any)
	content = maps.Clone(content)
	if content == nil {
		content = map[string]any{}
	}
	if items, ok := content["rich_text"].([]any); ok {
		content["rich_text"] = richText(items)
	}
	if _, ok := content["color"]; !ok && typ == "paragraph" {
		content["color"] = "default"
	}
	return map[string]any{
		"object":           "block",
		"id":               id,
		"parent":           parent,
		"created_time":     now,
		"last_edited_time": now,
		"created_by":       partialUser(BotUserID),
		"last_edited_by":   partialUser(BotUserID),
		"has_children":     false,
		"in_trash":         false,
		"archived":         false,
		"type":             typ,
		typ:                content,
	}
}

// withTrash returns a copy of obj with in_trash (and its deprecated aliases)
// set to trashed.
func withTrash(obj map[string]any, trashed bool, now string) map[string]any {
	obj = maps.Clone(obj)
	obj["in_trash"], obj["archived"] = trashed, trashed
	if _, ok := obj["is_archived"]; ok {
		obj["is_archived"] = trashed
	}
	obj["last_edited_time"] = now
	return obj
}

// database builds a database object; data source id derived from its id.
func database(id, now string) map[string]any {
	return map[string]any{
		"object":           "database",
		"id":               id,
		"title":            richText([]any{map[string]any{"text": map[string]any{"content": "Fake database"}}}),
		"description":      []any{},
		"parent":           map[string]any{"type": "workspace", "workspace": true},
		"is_inline":        false,
		"in_trash":         false,
		"archived":         false,
		"is_locked":        false,
		"created_time":     now,
		"last_edited_time": now,
		"data_sources":     []any{map[string]any{"id": id, "name": "Fake database"}},
		"properties":       databaseProperties(),
		"icon":             nil,
		"cover":            nil,
		"url":              notionURL(id),
		"public_url":       nil,
	}
}

// dataSource builds a data source object.
func dataSource(id, now string) map[string]any {
	return map[string]any{
		"object":           "data_source",
		"id":               id,
		"title":            richText([]any{map[string]any{"text": map[string]any{"content": "Fake database"}}}),
		"description":      []any{},
		"parent":           map[string]any{"type": "database_id", "database_id": id},
		"database_parent":  map[string]any{"type": "workspace", "workspace": true},
		"is_inline":        false,
		"in_trash":         false,
		"archived":         false,
		"created_time":     now,
		"last_edited_time": now,
		"created_by":       partialUser(BotUserID),
		"last_edited_by":   partialUser(BotUserID),
		"properties":       databaseProperties(),
		"icon":             nil,
		"cover":            nil,
		"url":              notionURL(id),
		"public_url":       nil,
	}
}

func databaseProperties() map[string]any {
	return map[string]any{
		"Name": map[string]any{"id": "title", "name": "Name", "description": nil, "type": "title", "title": map[string]any{}},
	}
}
