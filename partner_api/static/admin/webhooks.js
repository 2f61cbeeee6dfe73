// The "Webhook endpoints" part of the Notifications card: each endpoint (URL, description, the
// events it is sent, enabled or why disabled) with its recent deliveries, and for owners and
// admins Add endpoint, Send test, Rotate secret, Disable/Enable and Delete. The card
// (notifications.js) owns loading; this renders one answer of the WebhookEndpoints query.

import { deliveriesTable } from "./deliveries.js";
import { announce, banner, h } from "./dom.js";
import { formatDate, formatDateTime } from "./format.js";
import { failureMessage, mutateInPlace, NOTIFICATIONS_PERMISSION_HELP } from "./mutations.js";
import { openAddEndpointDialog, openDeleteDialog, openRotateDialog } from "./webhook_dialogs.js";

const MAX_ENDPOINTS = 10;

function eventsLine(endpoint, allTypes) {
  const all = allTypes.length > 0 && allTypes.every((type) => endpoint.eventTypes.includes(type));
  return h(
    "p",
    { class: "endpoint-events" },
    h("span", { class: "endpoint-term", text: "Events: " }),
    all ? `all ${allTypes.length} event types` : endpoint.eventTypes.map((type, index) => [index ? ", " : "", h("code", { text: type })]),
  );
}

function stateBadge(endpoint) {
  return endpoint.enabled
    ? h("span", { class: "badge badge-active", text: "Enabled" })
    : h("span", { class: "badge badge-disabled", text: "Disabled" });
}

/** The buttons of one endpoint; each reports through `alerts` and reloads through `changed`. */
function endpointActions(app, endpoint, { alerts, urlId, changed, testSent }) {
  const button = (text, key, onclick, extra = "") => h("button", {
    type: "button", class: `button button-small ${extra}`.trim(), text, "data-focus": `${key}-${endpoint.id}`,
    "aria-describedby": urlId, onclick,
  });
  const send = button("Send test", "test", async () => {
    const result = await mutateInPlace(app, {
      alerts, button: send, busyLabel: "Sending…",
      operation: "SendTestWebhook", field: "sendTestWebhook", variables: { input: { id: endpoint.id } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename === "TestWebhookQueued") {
      announce("Test message queued. Its delivery shows under Recent deliveries.");
      testSent(endpoint, result.delivery);
    } else {
      alerts.replaceChildren(banner("error", failureMessage(result, NOTIFICATIONS_PERMISSION_HELP)));
    }
  });
  const toggle = button(endpoint.enabled ? "Disable" : "Enable", "toggle", async () => {
    const result = await mutateInPlace(app, {
      alerts, button: toggle, busyLabel: endpoint.enabled ? "Disabling…" : "Enabling…",
      operation: "UpdateWebhookEndpoint", field: "updateWebhookEndpoint",
      variables: { input: { id: endpoint.id, enabled: !endpoint.enabled } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename === "WebhookEndpointUpdated") {
      announce(result.endpoint.enabled ? "Endpoint enabled." : "Endpoint disabled.");
      changed();
    } else {
      alerts.replaceChildren(banner("error", failureMessage(result, NOTIFICATIONS_PERMISSION_HELP)));
    }
  });
  return h(
    "div",
    { class: "endpoint-actions", role: "group", "aria-label": "Endpoint actions" },
    send,
    button("Rotate secret", "rotate", () => openRotateDialog(app, endpoint, { onChanged: changed })),
    toggle,
    button("Delete", "delete", () => openDeleteDialog(app, endpoint, { onChanged: changed }), "button-danger"),
  );
}

function endpointItem(app, endpoint, { allTypes, changed, testSent }) {
  const urlId = `endpoint-url-${endpoint.id}`;
  const alerts = h("div", { class: "policy-alerts" });
  const disabled = endpoint.enabled
    ? null
    : h("p", {
      class: "fact-note",
      text: `Since ${formatDateTime(endpoint.disabledAt)}: ${endpoint.disabledReason || "disabled."} Nothing is sent to it until it is enabled again.`,
    });
  return h(
    "li",
    { class: "endpoint", "data-endpoint-id": endpoint.id, "aria-labelledby": urlId },
    h(
      "div",
      { class: "endpoint-head" },
      h("h4", { id: urlId, class: "endpoint-url", text: endpoint.url }),
      stateBadge(endpoint),
    ),
    endpoint.description ? h("p", { class: "endpoint-description", text: endpoint.description }) : null,
    eventsLine(endpoint, allTypes),
    h("p", { class: "cell-sub", text: `Signing secret ending in …${endpoint.secretHint} · added ${formatDate(endpoint.createdAt)}` }),
    disabled,
    app.canManage() ? endpointActions(app, endpoint, { alerts, urlId, changed, testSent }) : null,
    alerts,
    deliveriesTable(endpoint.deliveries, urlId),
  );
}

/**
 * The part for `data` (the WebhookEndpoints query). `changed()` reloads the endpoints;
 * `testSent(endpoint, delivery)` follows a queued test message; `refresh()` looks again.
 */
export function webhooksPart(app, data, { changed, testSent, refresh }) {
  const endpoints = data.webhookEndpoints;
  const allTypes = data.notificationEventTypes;
  const full = endpoints.length >= MAX_ENDPOINTS;
  const add = app.canManage()
    ? h("button", {
      type: "button", class: "button", text: "Add endpoint", "data-focus": "add-endpoint", disabled: full,
      title: full ? `At most ${MAX_ENDPOINTS} endpoints; delete one to add another.` : null,
      onclick: () => openAddEndpointDialog(app, { eventTypes: allTypes, onChanged: changed }),
    })
    : null;
  const reload = h("button", {
    type: "button", class: "button button-small button-quiet", text: "Refresh", "data-focus": "refresh-webhooks",
    "aria-label": "Refresh webhook deliveries", onclick: refresh,
  });
  return h(
    "section",
    { class: "notifications-part", "aria-labelledby": "webhooks-title" },
    h(
      "div",
      { class: "part-toolbar" },
      h("h3", { id: "webhooks-title", text: "Webhook endpoints" }),
      h("div", { class: "part-actions" }, reload, add),
    ),
    h("p", { class: "muted", text: "Credential events are POSTed to these URLs as JSON, signed per Standard Webhooks (webhook-id, webhook-timestamp and webhook-signature headers), and retried for about a day. An endpoint failing for a day is disabled and your security contacts are told." }),
    endpoints.length === 0
      ? h("p", { class: "no-endpoints", text: "No webhook endpoints yet." })
      : h("ul", { class: "endpoints" }, endpoints.map((endpoint) => endpointItem(app, endpoint, { allTypes, changed, testSent }))),
  );
}
