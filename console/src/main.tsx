/** The Herald web console: sign-in, then the admin pages or a subscriber's read-only portal. */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { CallerKind, type GetCallerResponse } from "../../gen/herald/v1/console_service_pb.js";
import { api, errorText, isUnauthenticated, storedToken, storeToken } from "./api.js";
import { DeadLetterPage } from "./pages/dead-letter.js";
import { DeadLettersPage } from "./pages/dead-letters.js";
import { ManagePage } from "./pages/manage.js";
import { OverviewPage } from "./pages/overview.js";
import { PortalPage } from "./pages/portal.js";
import { PublishPage } from "./pages/publish.js";
import { SignInPage } from "./pages/sign-in.js";
import { SubscriptionPage } from "./pages/subscription.js";
import { ErrorLine, useHashRoute } from "./ui.js";

type Session =
  | { state: "checking" }
  | { state: "signed-out"; error: string }
  | { state: "in"; caller: GetCallerResponse };

function App() {
  const [session, setSession] = useState<Session>({ state: "checking" });
  const check = () =>
    api.console.getCaller({}).then(
      (caller) => setSession({ state: "in", caller }),
      (error: unknown) =>
        setSession({
          state: "signed-out",
          error: isUnauthenticated(error) && storedToken() === "" ? "" : errorText(error),
        }),
    );
  useEffect(() => {
    void check();
  }, []);
  const signIn = (token: string) => {
    storeToken(token.trim());
    void check();
  };
  const signOut = () => {
    storeToken("");
    setSession({ state: "signed-out", error: "" });
  };
  if (session.state === "checking") return <p class="loading">Connecting to Herald…</p>;
  if (session.state === "signed-out") return <SignInPage error={session.error} onSignIn={signIn} />;
  return <Shell caller={session.caller} onSignOut={signOut} />;
}

function Shell(props: { caller: GetCallerResponse; onSignOut: () => void }) {
  const route = useHashRoute();
  const { caller } = props;
  const isSubscriber = caller.kind === CallerKind.SUBSCRIBER;
  const who =
    caller.kind === CallerKind.OPEN
      ? "authentication off"
      : isSubscriber
        ? `subscriber ${caller.subscriberName || caller.subscriberId}`
        : "admin";
  return (
    <>
      <header>
        <a class="brand" href="#/">
          Herald
        </a>
        <nav aria-label="Main">
          {isSubscriber ? (
            <a href="#/">My subscriptions</a>
          ) : (
            <>
              <a href="#/">Overview</a>
              <a href="#/dead-letters">Dead letters</a>
              <a href="#/manage">Manage</a>
              <a href="#/publish">Publish</a>
            </>
          )}
        </nav>
        <span class="who" data-testid="who">
          {who}
        </span>
        {caller.kind !== CallerKind.OPEN && (
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <main>{isSubscriber ? <PortalPage route={route} /> : <AdminRoutes route={route} />}</main>
    </>
  );
}

function AdminRoutes(props: { route: string }) {
  const [path, query = ""] = props.route.split("?", 2) as [string, string?];
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter((p) => p !== "");
  // Keyed by name and id: another subscription or dead letter is a fresh page, with no state left over.
  if (parts[0] === "subscriptions" && parts[1]) return <SubscriptionPage key={parts[1]} name={parts[1]} />;
  if (parts[0] === "dead-letters" && parts[1])
    return <DeadLetterPage key={parts[1]} id={parts[1]} canAct={true} />;
  if (parts[0] === "dead-letters") return <DeadLettersPage subscription={params.get("subscription") ?? ""} />;
  if (parts[0] === "manage") return <ManagePage tab={parts[1] ?? "topics"} />;
  if (parts[0] === "publish") return <PublishPage />;
  if (parts.length === 0) return <OverviewPage />;
  return <ErrorLine error={`No page at ${path}`} />;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
