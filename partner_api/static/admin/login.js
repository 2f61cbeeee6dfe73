// The login screen. SessionLogin does not ask for the session token: the server sets it as an
// HttpOnly, SameSite=Strict cookie, so script never holds it.

import { banner, h, uid } from "./dom.js";
import { SessionError, run } from "./graphql.js";
import { errorBanner } from "./mutations.js";

/** Render the login form into `main`; `onLoggedIn()` runs after a successful login. */
export function loginView({ message = null, onLoggedIn }) {
  const emailId = uid("login-email");
  const passwordId = uid("login-password");
  const email = h("input", { id: emailId, name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: passwordId, name: "password", type: "password", autocomplete: "current-password", required: true });
  const alerts = h("div", { class: "dialog-alerts" }, message ? banner("neutral", message) : null);
  const submit = h("button", { type: "submit", class: "button button-primary button-block", text: "Log in" });
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h("div", { class: "field" }, h("label", { for: emailId, class: "field-label", text: "E-mail" }), email),
    h("div", { class: "field" }, h("label", { for: passwordId, class: "field-label", text: "Password" }), password),
    alerts,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      alerts.replaceChildren(banner("error", "Enter your e-mail and password."));
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      const data = await run("SessionLogin", { email: email.value.trim(), password: password.value });
      const result = data.login;
      if (result.__typename === "LoginSuccess") {
        password.value = "";
        onLoggedIn();
        return;
      }
      const retry = result.__typename === "LoginThrottled" ? ` Try again in ${Math.ceil(result.retryAfterSeconds / 60)} minutes.` : "";
      alerts.replaceChildren(banner("error", `${result.message}${retry}`));
      password.select();
      password.focus();
    } catch (error) {
      alerts.replaceChildren(error instanceof SessionError ? banner("error", error.message) : errorBanner(error));
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });
  const view = h(
    "section",
    { class: "login", "aria-labelledby": "login-title" },
    h("div", { class: "login-brand", "aria-hidden": "true" }),
    h("h1", { id: "login-title", text: "Log in" }),
    h("p", { class: "muted", text: "Partner API settings are for your organisation's administrators and technical staff." }),
    form,
  );
  return { view, focus: () => email.focus() };
}
