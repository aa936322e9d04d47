// Package twilio receives Twilio's Programmable Messaging webhooks: it
// verifies X-Twilio-Signature, parses the form into a small provider type,
// normalizes it into a conversation.Inbound, ingests it, and answers TwiML
// built with twilio-go's twiml package.
//
// Request fields: https://www.twilio.com/docs/messaging/guides/webhook-request
// Status callbacks: https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
// Opt-out keywords: https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
package twilio
