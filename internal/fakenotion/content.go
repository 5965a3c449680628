package fakenotion

import (
	"maps"
	"net/http"
	"slices"
)

// The handlers of Notion's content: pages, blocks and comments. A write
// changes the world under Server.mu and counts as applied in the same
// critical section, so Applied never runs ahead of or behind the content.

// createPage answers POST /v1/pages.
func createPage(c *call, _ string, body map[string]any) {
	parent, ok := body["parent"].(map[string]any)
	if !ok {
		c.invalid("body.parent should be defined, instead was `undefined`")
		return
	}
	props, _ := body["properties"].(map[string]any)
	children, _ := body["children"].([]any)
	s, t := c.s, now()
	s.mu.Lock()
	id := s.world.newID()
	var properties map[string]any
	if props != nil {
		properties = pageProperties(props)
	}
	page := newPage(id, parentOf(parent), properties, t)
	for _, key := range []string{"icon", "cover"} {
		if v, ok := body[key]; ok {
			page[key] = v
		}
	}
	s.world.pages[id] = page
	s.world.pageOrder = append(s.world.pageOrder, id)
	s.world.appendChildren(id, children, "", t)
	c.applyLocked()
	s.mu.Unlock()
	c.ok(page)
}

// pageLocked is the stored page, or a made-up one: every id exists in the
// fake. s.mu must be held.
func (c *call) pageLocked(id string) map[string]any {
	if page, ok := c.s.world.pages[id]; ok {
		return page
	}
	return newPage(id, map[string]any{"type": "workspace", "workspace": true}, nil, now())
}

// getPage answers GET /v1/pages/{id}.
func getPage(c *call, id string, _ map[string]any) {
	c.s.mu.Lock()
	page := c.pageLocked(id)
	c.s.mu.Unlock()
	c.ok(page)
}

// updatePage answers PATCH /v1/pages/{id}: properties are merged.
func updatePage(c *call, id string, body map[string]any) {
	s, t := c.s, now()
	s.mu.Lock()
	page := maps.Clone(c.pageLocked(id))
	if props, ok := body["properties"].(map[string]any); ok {
		merged, _ := page["properties"].(map[string]any)
		merged = maps.Clone(merged)
		if merged == nil {
			merged = map[string]any{}
		}
		maps.Copy(merged, pageProperties(props))
		page["properties"] = merged
	}
	for _, key := range []string{"icon", "cover", "is_locked"} {
		if v, ok := body[key]; ok {
			page[key] = v
		}
	}
	page["last_edited_time"] = t
	if _, known := s.world.pages[id]; !known {
		s.world.pageOrder = append(s.world.pageOrder, id)
	}
	page = trashFromBody(page, body, t)
	s.world.pages[id] = page
	c.applyLocked()
	s.mu.Unlock()
	c.ok(page)
}

// trashFromBody applies an in_trash (or archived) field of a PATCH body.
func trashFromBody(obj, body map[string]any, t string) map[string]any {
	for _, key := range []string{"in_trash", "archived"} {
		if trashed, ok := body[key].(bool); ok {
			return withTrash(obj, trashed, t)
		}
	}
	return obj
}

// blockLocked is the stored block, or a made-up paragraph, with its
// has_children filled in. s.mu must be held.
func (c *call) blockLocked(id string) map[string]any {
	w := c.s.world
	block, ok := w.blocks[id]
	switch page, isPage := w.pages[id]; {
	case ok:
	case isPage:
		block = newBlock(id, page["parent"].(map[string]any), map[string]any{"child_page": map[string]any{"title": titleOf(page)}}, now())
	default:
		block = newBlock(id, map[string]any{"type": "workspace", "workspace": true}, map[string]any{"paragraph": map[string]any{"rich_text": []any{}}}, now())
	}
	block = maps.Clone(block)
	block["has_children"] = len(w.children[id]) > 0
	return block
}

// getBlock answers GET /v1/blocks/{id}.
func getBlock(c *call, id string, _ map[string]any) {
	c.s.mu.Lock()
	block := c.blockLocked(id)
	c.s.mu.Unlock()
	c.ok(block)
}

// updateBlock answers PATCH /v1/blocks/{id}.
func updateBlock(c *call, id string, body map[string]any) {
	s, t := c.s, now()
	s.mu.Lock()
	block := c.blockLocked(id)
	typ, _ := block["type"].(string)
	if content, ok := body[typ].(map[string]any); ok {
		block[typ] = newBlock(id, nil, map[string]any{typ: content}, t)[typ]
	}
	block["last_edited_time"] = t
	block = trashFromBody(block, body, t)
	s.world.blocks[id] = block
	c.applyLocked()
	s.mu.Unlock()
	c.ok(block)
}

// deleteBlock answers DELETE /v1/blocks/{id}: the block (or page) moves
// to the trash and is answered with in_trash true.
func deleteBlock(c *call, id string, _ map[string]any) {
	s, t := c.s, now()
	s.mu.Lock()
	block := withTrash(c.blockLocked(id), true, t)
	s.world.blocks[id] = block
	if page, ok := s.world.pages[id]; ok {
		s.world.pages[id] = withTrash(page, true, t)
	}
	c.applyLocked()
	s.mu.Unlock()
	c.ok(block)
}

// listChildren answers GET /v1/blocks/{id}/children.
func listChildren(c *call, id string, _ map[string]any) {
	s := c.s
	s.mu.Lock()
	ids := s.world.children[id]
	blocks := make([]map[string]any, 0, len(ids))
	for _, child := range ids {
		blocks = append(blocks, c.blockLocked(child))
	}
	s.mu.Unlock()
	results, next := paginate(blocks, c.startCursor(nil), c.pageSize(nil))
	c.ok(list("block", results, next))
}

// appendChildren answers PATCH /v1/blocks/{id}/children with the new
// blocks.
func appendChildren(c *call, id string, body map[string]any) {
	children, ok := body["children"].([]any)
	if !ok {
		c.invalid("body.children should be defined, instead was `undefined`")
		return
	}
	after, _ := body["after"].(string)
	s := c.s
	s.mu.Lock()
	added := s.world.appendChildren(id, children, after, now())
	c.applyLocked()
	s.mu.Unlock()
	c.ok(list("block", added, ""))
}

// appendChildren stores new child blocks of parentID, after the child
// after (at the end if after is "" or not a child), and returns them.
// Server.mu must be held.
func (w *world) appendChildren(parentID string, children []any, after, t string) []any {
	parent := map[string]any{"type": "block_id", "block_id": parentID}
	if _, ok := w.pages[parentID]; ok {
		parent = map[string]any{"type": "page_id", "page_id": parentID}
	}
	added := make([]any, 0, len(children))
	ids := make([]string, 0, len(children))
	for _, v := range children {
		req, ok := v.(map[string]any)
		if !ok {
			continue
		}
		id := w.newID()
		block := newBlock(id, parent, req, t)
		w.blocks[id] = block
		ids = append(ids, id)
		added = append(added, block)
	}
	existing := slices.Clone(w.children[parentID])
	at := len(existing)
	if i := slices.Index(existing, after); after != "" && i >= 0 {
		at = i + 1
	}
	w.children[parentID] = slices.Insert(existing, at, ids...)
	return added
}

// createComment answers POST /v1/comments (on a page, or in an existing
// discussion).
func createComment(c *call, _ string, body map[string]any) {
	items, ok := body["rich_text"].([]any)
	if !ok {
		c.invalid("body.rich_text should be defined, instead was `undefined`")
		return
	}
	parent, hasParent := body["parent"].(map[string]any)
	discussion, _ := body["discussion_id"].(string)
	if !hasParent && discussion == "" {
		c.invalid("body.parent should be defined, instead was `undefined`")
		return
	}
	s, t := c.s, now()
	s.mu.Lock()
	if discussion == "" {
		discussion = s.world.newID()
	}
	if !hasParent {
		parent = map[string]any{"type": "page_id", "page_id": s.world.newID()}
		for _, prior := range s.world.comments {
			if prior["discussion_id"] == discussion {
				parent = prior["parent"].(map[string]any)
			}
		}
	}
	comment := map[string]any{
		"object":           "comment",
		"id":               s.world.newID(),
		"parent":           parentOf(parent),
		"discussion_id":    discussion,
		"created_time":     t,
		"last_edited_time": t,
		"created_by":       partialUser(BotUserID),
		"rich_text":        richText(items),
		"display_name":     map[string]any{"type": "integration", "resolved_name": botName},
	}
	s.world.comments = append(s.world.comments, comment)
	c.applyLocked()
	s.mu.Unlock()
	c.ok(comment)
}

// listComments answers GET /v1/comments?block_id=.
func listComments(c *call, _ string, _ map[string]any) {
	blockID := c.r.URL.Query().Get("block_id")
	if blockID == "" {
		c.fail(http.StatusBadRequest, "validation_error", "query failed validation: query.block_id should be defined, instead was `undefined`.", OutcomeValidationError)
		return
	}
	c.s.mu.Lock()
	var matched []map[string]any
	for _, comment := range c.s.world.comments {
		parent, _ := comment["parent"].(map[string]any)
		if parent["page_id"] == blockID || parent["block_id"] == blockID {
			matched = append(matched, comment)
		}
	}
	c.s.mu.Unlock()
	results, next := paginate(matched, c.startCursor(nil), c.pageSize(nil))
	c.ok(list("comment", results, next))
}
