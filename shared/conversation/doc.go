// Package conversation is Switchboard's domain: contacts, their identities on
// each channel, the one open conversation per contact, and the messages on it.
//
// Every channel's webhook normalizes its provider event into an [Inbound] and
// hands it to [Service.Ingest]. Ingest makes exactly one durable decision — a
// conditional write of the message, which is also the dedupe marker — so a
// provider retry or a concurrent duplicate is answered as success and changes
// nothing. Everything derived from a stored message (the conversation summary
// shown in the inbox, the contact's name, an identity's opt-out state, and in
// time the agents' notifications) is applied afterwards by [Service.Project],
// which runs from the store's change stream (DynamoDB Streams in AWS, an
// in-process hook in memory). That keeps the acknowledgement path to one read
// and one write and means an outage of anything downstream loses nothing.
//
// Agents give it a life: [Service.Update] (open, snoozed until a time or
// the customer writes, closed; assignee, team, labels, priority), notes,
// [Service.MarkSeen], [Service.Merge] of contacts; every action an event on
// the timeline. [Service.Inbox] pages the inbox by activity (inbox.go says
// how a listing reaches what moves while it pages); the timers of
// [Service.Sweep] wake snoozed conversations; [FactsOf] feeds the reports'
// daily rollups ([BuildReport]).
//
// The package imports no AWS code and no store: storage is a set of small
// interfaces, one per consumer ([IngestStore], [ProjectionStore],
// [LifecycleStore], [MergeStore], [Reader], [MessageStore], [FailureStore],
// [InboxReader], [RollupReader], [Secrets]; [Store] is all of them), with a
// DynamoDB implementation in shared/store and an in-memory one in
// shared/memstore, both held to the contract suite in conversation/storetest
// (shared/backends wires them up for the channels' tests).
package conversation
