import { useState } from "preact/hooks";
import { ErrorLine } from "../ui.js";

/**
 * An admin token (HERALD_ADMIN_TOKENS) opens the admin pages; a subscriber's API key (hsk_…) opens
 * its read-only portal. The credential stays in this tab's sessionStorage only.
 */
export function SignInPage(props: { error: string; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  return (
    <main class="sign-in">
      <h1>Herald console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onSignIn(token);
        }}
      >
        <label for="token">Admin token or subscriber API key</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <ErrorLine error={props.error} />
      <p class="hint">Kept for this browser tab only; closing it signs you out.</p>
    </main>
  );
}
