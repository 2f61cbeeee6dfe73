// Running a mutation from a dialog or a control on the page, and turning its answer into
// something the user sees.

import { banner, h } from "./dom.js";
import { FIELD_LABELS, STATUS_LABELS } from "./format.js";
import { NetworkError, ServerError, SessionError, run } from "./graphql.js";

export const PERMISSION_HELP =
  "Only organisation owners and admins can create, change, regenerate or revoke credentials.";
export const NOTIFICATIONS_PERMISSION_HELP =
  "Only organisation owners and admins can change webhook endpoints and notification settings.";

/** The text for an expected failure (a union member other than the success type); `help`
 * follows a PermissionDenied, saying who may do it. */
export function failureMessage(result, help = PERMISSION_HELP) {
  switch (result.__typename) {
    case "PermissionDenied":
      return `Permission denied: ${result.message} ${help}`;
    case "CredentialNotActive":
      return `${result.message} (status: ${STATUS_LABELS[result.status] || result.status}).`;
    case "ValidationError":
      return `${FIELD_LABELS[result.field] || result.field}: ${result.message}`;
    default:
      return result.message || "The request was refused.";
  }
}

/** A banner for a thrown error (not SessionError, which callers handle by logging out). */
export function errorBanner(error) {
  if (error instanceof NetworkError || error instanceof ServerError) {
    return banner("error", error.message);
  }
  return banner("error", `Unexpected error in the page: ${error.message}`);
}

/**
 * A panel's load failed: an ended session shows the login (once: not when it already has); any
 * other error is shown in `alerts` with a "Try again" button that calls `retry`.
 */
export function showLoadFailure(app, alerts, error, retry) {
  if (error instanceof SessionError) {
    if (app.viewer !== null) {
      app.sessionEnded();
    }
    return;
  }
  const shown = errorBanner(error);
  shown.append(h("button", { type: "button", class: "button button-small", text: "Try again", onclick: () => retry() }));
  alerts.replaceChildren(shown);
}

/**
 * Run `operation` for a dialog: the button shows `busyLabel` meanwhile and Escape is ignored;
 * thrown errors land in `alerts`; an ended session closes the dialog and shows the login.
 * Resolves to the mutation's union member, or null when the request failed (already shown).
 */
export async function mutate(app, { dialog, alerts, button, busyLabel, operation, field, variables }) {
  alerts.replaceChildren();
  const label = button.textContent;
  button.disabled = true;
  dialog.setBusy(true);
  button.setAttribute("aria-busy", "true");
  button.textContent = busyLabel;
  try {
    const data = await run(operation, variables);
    return data[field];
  } catch (error) {
    if (error instanceof SessionError) {
      dialog.close();
      app.sessionEnded();
      return null;
    }
    alerts.replaceChildren(errorBanner(error));
    return null;
  } finally {
    dialog.setBusy(false);
    button.removeAttribute("aria-busy");
    button.textContent = label;
    button.disabled = false;
    // Disabling the focused button dropped focus; keep keyboard users inside the dialog.
    if (dialog.open && !dialog.element.contains(document.activeElement)) {
      button.focus();
    }
  }
}

/**
 * Run `operation` from a control on the page itself (no dialog): `button` is disabled and shows
 * `busyLabel` meanwhile; thrown errors land in `alerts`; an ended session shows the login.
 * Resolves to the mutation's union member, or null when the request failed (already shown).
 */
export async function mutateInPlace(app, { alerts, button, busyLabel, operation, field, variables }) {
  alerts.replaceChildren();
  const label = button.textContent;
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = busyLabel;
  try {
    const data = await run(operation, variables);
    return data[field];
  } catch (error) {
    if (error instanceof SessionError) {
      app.sessionEnded();
      return null;
    }
    alerts.replaceChildren(errorBanner(error));
    return null;
  } finally {
    button.removeAttribute("aria-busy");
    button.textContent = label;
    button.disabled = false;
    // Disabling the focused button dropped focus; give it back to keyboard users.
    if (hadFocus && button.isConnected && document.activeElement !== button) {
      button.focus();
    }
  }
}
