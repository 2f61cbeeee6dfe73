// The "Notifications" card under the credential policy: security contacts, the leaked-secret
// policy (notification_settings.js) and webhook endpoints with their deliveries (webhooks.js).
// It loads its own data (NotificationSettings, WebhookEndpoints) once per login and keeps its
// DOM between list renders, so paging or filtering credentials does not reload it; coming back
// from a credential's detail looks again. After a test message it looks again a few times, until
// the delivery has been tried, since the worker sends it a moment later.

import { deliveringSoon } from "./deliveries.js";
import { focusHeading, h } from "./dom.js";
import { run } from "./graphql.js";
import { showLoadFailure } from "./mutations.js";
import { settingsParts } from "./notification_settings.js";
import { webhooksPart } from "./webhooks.js";

const DELIVERIES_SHOWN = 5;
const FOLLOW_DELAYS_MS = [700, 1500, 3000, 5000, 8000];

/** Replace `slot`'s content, keeping focus on "the same" control (data-focus) if it was inside. */
function replaceKeepingFocus(slot, node, fallback) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && slot.contains(active);
  const key = inside ? active.dataset.focus : undefined;
  slot.replaceChildren(node);
  if (!inside) {
    return;
  }
  const same = key ? slot.querySelector(`[data-focus="${CSS.escape(key)}"]:not([disabled])`) : null;
  if (same !== null) {
    same.focus();
  } else {
    focusHeading(fallback());
  }
}

/** The card for the signed-in `app`; `mount()` returns its element, to be placed in a view. */
export function notificationsCard(app) {
  const settingsSlot = h("div", { class: "notifications-settings" }, h("p", { class: "muted", role: "status", text: "Loading the notification settings…" }));
  const webhooksSlot = h("div", { class: "notifications-webhooks" });
  const alerts = h("div", { class: "policy-alerts" });
  const element = h(
    "section",
    { class: "card notifications", "aria-labelledby": "notifications-title" },
    h("h2", { id: "notifications-title", class: "card-title", text: "Notifications" }),
    h("p", { class: "muted", text: "Who is told when credentials are about to expire, expire, go unused or are reported leaked, and where credential events are sent." }),
    alerts,
    settingsSlot,
    webhooksSlot,
  );
  let loaded = false;
  let loading = false;
  let loads = 0;
  let ticket = 0; // webhook renders: a late answer never replaces a newer one
  let followed = 0;

  /** Run a query for the card; failures show in the card (with a retry), null is returned. */
  async function query(operation, variables) {
    try {
      return await run(operation, variables);
    } catch (error) {
      showLoadFailure(app, alerts, error, load);
      return null;
    }
  }

  function showWebhooks(data) {
    const part = webhooksPart(app, data, {
      changed: () => refreshWebhooks(),
      testSent: () => follow(),
      refresh: () => refreshWebhooks(),
    });
    replaceKeepingFocus(webhooksSlot, part, () => webhooksSlot.querySelector("h3"));
    return data;
  }

  async function load() {
    const mine = ++loads;
    const webhooksTicket = ++ticket;
    alerts.replaceChildren();
    loading = true;
    const [settings, webhooks] = await Promise.all([
      query("NotificationSettings"),
      query("WebhookEndpoints", { deliveries: DELIVERIES_SHOWN }),
    ]).finally(() => {
      loading = false;
    });
    if (mine !== loads || settings === null || webhooks === null) {
      return;
    }
    loaded = true;
    settingsSlot.replaceChildren(...settingsParts(app, settings.notificationSettings));
    if (webhooksTicket === ticket) {
      showWebhooks(webhooks);
    }
  }

  async function refreshWebhooks() {
    const mine = ++ticket;
    const data = await query("WebhookEndpoints", { deliveries: DELIVERIES_SHOWN });
    if (mine !== ticket || data === null) {
      return null;
    }
    alerts.replaceChildren();
    return showWebhooks(data);
  }

  /** Look again while a delivery is about to be tried (a test message, a retry due soon). */
  async function follow() {
    const mine = ++followed;
    let data = await refreshWebhooks();
    for (const delay of FOLLOW_DELAYS_MS) {
      if (data === null || !deliveringSoon(data.webhookEndpoints)) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      // A newer test took over, or the card left the page (another view, a logout).
      if (mine !== followed || !element.isConnected || app.viewer === null) {
        return;
      }
      data = await refreshWebhooks();
    }
  }

  return {
    mount() {
      if (!loaded) {
        if (!loading) {
          load();
        }
      } else if (!element.isConnected) {
        refreshWebhooks();
      }
      return element;
    },
  };
}

