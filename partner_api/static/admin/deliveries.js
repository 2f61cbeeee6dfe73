// A webhook endpoint's recent deliveries, compact: which event, how it went (status, attempts,
// the last answer and how long it took) and when the next retry is due. The server keeps each
// delivery's outcome; this only puts it in words.

import { h } from "./dom.js";
import { DELIVERY_STATUS_LABELS, EVENT_TYPE_LABELS, formatDateTime, formatTime } from "./format.js";

function statusBadge(status) {
  return h("span", { class: `badge badge-delivery-${status.toLowerCase()}`, text: DELIVERY_STATUS_LABELS[status] || status });
}

/** The last attempt's answer: an HTTP status, or why there was none. */
function response(delivery) {
  if (delivery.lastStatusCode !== null) {
    return h("span", {}, h("code", { text: String(delivery.lastStatusCode) }), delivery.lastError ? h("span", { class: "cell-sub", text: delivery.lastError }) : null);
  }
  if (delivery.lastError) {
    return h("span", { class: "cell-sub delivery-error", text: delivery.lastError });
  }
  return h("span", { class: "muted", text: delivery.attempts === 0 ? "Not sent yet" : "—" });
}

function nextRetry(delivery) {
  if (delivery.status !== "PENDING" || !delivery.nextAttemptAt) {
    return h("span", { class: "muted", text: delivery.finishedAt ? `Done ${formatTime(delivery.finishedAt)}` : "—" });
  }
  return h("time", { datetime: delivery.nextAttemptAt, text: delivery.attempts === 0 ? "Due now" : formatDateTime(delivery.nextAttemptAt) });
}

function row(delivery) {
  const type = delivery.eventType;
  return h(
    "tr",
    { "data-delivery-id": delivery.id },
    h(
      "th",
      { scope: "row", "data-label": "Event" },
      h("span", { text: EVENT_TYPE_LABELS[type] || type }),
      h("span", { class: "cell-sub" }, h("time", { datetime: delivery.occurredAt, text: formatDateTime(delivery.occurredAt) })),
    ),
    h("td", { "data-label": "Status" }, statusBadge(delivery.status)),
    h("td", { "data-label": "Attempts", class: "numeric" }, String(delivery.attempts)),
    h("td", { "data-label": "Response" }, response(delivery)),
    h("td", { "data-label": "Latency", class: "numeric" }, delivery.lastLatencyMs === null ? "—" : `${delivery.lastLatencyMs} ms`),
    h("td", { "data-label": "Next retry" }, nextRetry(delivery)),
  );
}

/** The deliveries part of one endpoint, for its `deliveries` connection (newest first). */
export function deliveriesTable(connection, describedBy) {
  const rows = connection.edges.map((edge) => row(edge.node));
  const shown = rows.length;
  const summary = connection.totalCount > shown
    ? `The ${shown} most recent of ${connection.totalCount} deliveries.`
    : null;
  return h(
    "div",
    { class: "deliveries" },
    h("h5", { class: "deliveries-title", text: "Recent deliveries" }),
    shown === 0
      ? h("p", { class: "muted", text: "No deliveries yet." })
      : h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "deliveries-table", "aria-describedby": describedBy },
          h("caption", { class: "visually-hidden", text: "Recent deliveries" }),
          h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Response", "Latency", "Next retry"].map((title) => h("th", { scope: "col", text: title })))),
          h("tbody", {}, rows),
        ),
      ),
    summary ? h("p", { class: "cell-sub", text: summary }) : null,
  );
}

/** Whether a delivery will be tried again soon, so the card should look again. */
export function deliveringSoon(endpoints, withinMs = 15000) {
  const horizon = Date.now() + withinMs;
  return endpoints.some((endpoint) => endpoint.deliveries.edges.some(({ node }) => (
    node.status === "PENDING" && (!node.nextAttemptAt || new Date(node.nextAttemptAt).getTime() <= horizon)
  )));
}
