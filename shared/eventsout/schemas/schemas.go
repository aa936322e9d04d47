// Package schemas holds the JSON Schema of every event type eventsout
// emits (<type>.json, draft 2020-12) and Validate, which the tests hold
// every emitted event to. Apart from eventsout so that no function links
// the validator.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/switchboard/switchboard/shared/eventsout"
)

//go:embed *.json
var schemaFiles embed.FS

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

// Schema is the JSON Schema file of an event type (<type>.json).
func Schema(eventType string) ([]byte, error) { return schemaFiles.ReadFile(eventType + ".json") }

func compileAll() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	compiled = map[string]*jsonschema.Schema{}
	for _, t := range eventsout.Types {
		raw, err := Schema(t)
		if err != nil {
			compileErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			compileErr = fmt.Errorf("schema %s: %w", t, err)
			return
		}
		url := "https://switchboard.example/schemas/" + t + ".json"
		if err := c.AddResource(url, doc); err != nil {
			compileErr = err
			return
		}
		if compiled[t], err = c.Compile(url); err != nil {
			compileErr = fmt.Errorf("schema %s: %w", t, err)
			return
		}
	}
}

// Validate holds an event, as it is sent (its JSON), to its type's schema.
func Validate(e eventsout.Event) error {
	compileOnce.Do(compileAll)
	if compileErr != nil {
		return compileErr
	}
	s := compiled[e.Type]
	if s == nil {
		return fmt.Errorf("event type %q has no schema", e.Type)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}
