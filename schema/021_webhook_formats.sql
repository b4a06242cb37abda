-- Webhook delivery formats (issue 16, SIEM presets): a subscription is sent either the CloudEvents
-- envelope as it is ('cloudevents', as before) or, for a Splunk HTTP Event Collector, the envelope as the
-- event of a HEC JSON event ('splunk-hec'), with the subscription's HEC token in the Authorization header.
--
-- The HEC token is kept sealed as the signing secret is (AES-256-GCM under PARTNER_CREDENTIAL_KEYS),
-- bound to the subscription and the token's version (store.WebhookSplunkTokenAAD); it is never shown.
-- Replacing it makes a new version.
ALTER TABLE webhook_subscriptions
    ADD COLUMN format text NOT NULL DEFAULT 'cloudevents' CHECK (format IN ('cloudevents', 'splunk-hec')),
    ADD COLUMN splunk_token_version integer NOT NULL DEFAULT 0 CHECK (splunk_token_version >= 0),
    ADD COLUMN splunk_token_key_id text,
    ADD COLUMN splunk_token_sealed bytea,
    ADD CONSTRAINT webhook_subscriptions_splunk_token_check CHECK (
        (splunk_token_sealed IS NOT NULL) = (format = 'splunk-hec')
        AND (splunk_token_key_id IS NULL) = (splunk_token_sealed IS NULL)
        AND (splunk_token_version > 0) = (splunk_token_sealed IS NOT NULL));

---- create above / drop below ----

ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_splunk_token_check,
    DROP COLUMN splunk_token_sealed, DROP COLUMN splunk_token_key_id, DROP COLUMN splunk_token_version,
    DROP COLUMN format;
