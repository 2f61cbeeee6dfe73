// "Reminders sent" on a credential's detail page: the expiry reminders and security notices
// mailed about it (to its contact e-mail and the organisation's security contacts), newest
// first, from Query.mailMessages. It loads after the detail itself, so a slow or failed mail
// query never holds up the credential's facts; a failure shows in this card only.

import { h } from "./dom.js";
import { EVENT_TYPE_LABELS, MAIL_STATUS_LABELS, formatDateTime } from "./format.js";
import { SessionError } from "./graphql.js";
import { showLoadFailure } from "./mutations.js";

const PAGE = 10;

function mailItem(mail) {
  const when = mail.sentAt || mail.createdAt;
  const kind = mail.eventType ? EVENT_TYPE_LABELS[mail.eventType] || mail.eventType : null;
  return h(
    "li",
    { class: "mail", "data-mail-id": mail.id },
    h(
      "div",
      { class: "mail-head" },
      h("span", { class: "mail-subject", text: mail.subject }),
      h("time", { datetime: when, text: formatDateTime(when) }),
    ),
    h(
      "p",
      { class: "muted" },
      h("span", { class: `badge badge-mail-${mail.status.toLowerCase()}`, text: MAIL_STATUS_LABELS[mail.status] || mail.status }),
      kind ? ` ${kind} · ` : " ",
      `To ${mail.recipients.join(", ")}`,
    ),
  );
}

/** The card for `credential`; it fills itself in when the mails have loaded. */
export function remindersSection(app, credential) {
  const list = h("ol", { class: "mails" });
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const alerts = h("div", { class: "policy-alerts" });
  const more = h("button", { type: "button", class: "button button-small", text: "Show older mails", hidden: true });
  let cursor = null;

  async function loadPage() {
    alerts.replaceChildren();
    let data;
    try {
      data = await app.run("MailMessages", { first: PAGE, after: cursor, credentialId: credential.id });
    } catch (error) {
      if (!(error instanceof SessionError)) {
        status.hidden = true;
      }
      showLoadFailure(app, alerts, error, loadPage);
      return;
    }
    const page = data.mailMessages;
    list.append(...page.edges.map((edge) => mailItem(edge.node)));
    cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    status.hidden = list.children.length > 0;
    status.textContent = "No reminders or notices have been mailed about these credentials.";
  }

  more.addEventListener("click", loadPage);
  loadPage();
  return h(
    "section",
    { class: "card reminders", "aria-labelledby": "reminders-title" },
    h("h3", { id: "reminders-title", text: "Reminders sent" }),
    h("p", { class: "muted", text: "Expiry reminders and security notices mailed to the contact e-mail and your security contacts." }),
    status,
    list,
    alerts,
    more,
  );
}
