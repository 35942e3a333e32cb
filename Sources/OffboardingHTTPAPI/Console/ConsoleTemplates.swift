import Mustache

/// The console's pages as Mustache templates. `{{…}}` escapes HTML, so text from the PSA (client
/// and configuration names) shows as text; only `{{{body}}}`, a page rendered here, is inserted
/// as is. No script and no external asset: the page works without JavaScript.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        // The templates are constants of this file: a failure to parse one is a programming error.
        for (name, text) in [("layout", layout), ("login", login), ("dashboard", dashboard), ("result", result), ("message", message)] {
            try! library.register(text, named: name)
        }
        return library
    }()

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · psa-offboarder</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
        header { display: flex; align-items: center; gap: 1rem; padding: .7rem 1.5rem; background: #1d2a44; color: #fff; }
        header h1 { font-size: 1.1rem; margin: 0; }
        header .psa { opacity: .8; }
        header form { margin-left: auto; }
        main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
        h2 { font-size: 1.15rem; margin-top: 2rem; }
        h3 { margin: 0 0 .5rem; }
        small { color: #5b6475; font-weight: normal; }
        article, .panel { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin: .5rem 0; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
        th { background: #eef0f4; font-weight: 600; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0 .8rem; }
        dt { color: #5b6475; }
        dd { margin: 0; }
        .decide { display: grid; grid-template-columns: 1fr 2fr auto auto; gap: .6rem; align-items: end; margin-top: .8rem; }
        form.filter { display: flex; gap: .6rem; align-items: end; margin-bottom: 1rem; }
        label { display: flex; flex-direction: column; font-size: .9rem; color: #39404d; gap: .2rem; }
        input, textarea { font: inherit; padding: .35rem .45rem; border: 1px solid #b8bfcb; border-radius: 4px; }
        textarea { min-height: 2.2rem; }
        button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #1d2a44; background: #fff; cursor: pointer; }
        button.approve { background: #1f7a3d; border-color: #1f7a3d; color: #fff; }
        button.reject { background: #a12b2b; border-color: #a12b2b; color: #fff; }
        .notice { background: #e5f3ea; border: 1px solid #9ccfae; padding: .6rem .9rem; border-radius: 4px; }
        .error { background: #fbe9e9; border: 1px solid #e2a3a3; padding: .6rem .9rem; border-radius: 4px; }
        .failed { color: #a12b2b; font-weight: 600; }
        </style>
        </head>
        <body>
        <header><h1>psa-offboarder review console</h1><span class="psa">{{psa}}</span>
        {{#signedIn}}<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>{{/signedIn}}
        </header>
        <main>
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let login = """
        <h2>Sign in</h2>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form class="panel" method="post" action="/console/login">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#next}}<input type="hidden" name="next" value="{{next}}">{{/next}}
        <label>API token (one of http.api_tokens) <input type="password" name="token" autocomplete="current-password" required></label>
        <p><button type="submit">Sign in</button></p>
        </form>
        """

    static let dashboard = """
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <section id="pending">
        <h2>Pending approvals (<span id="pending-count">{{pendingCount}}</span>)</h2>
        <form class="filter" method="get" action="/console">
        <label>Client name or id <input name="client" value="{{filter}}" maxlength="200"></label>
        <button type="submit">Filter</button>{{#filtered}} <a href="/console">Show all</a>{{/filtered}}
        </form>
        {{#filtered}}<p id="match-count">{{matchCount}} of {{pendingCount}} match “{{filter}}”.</p>{{/filtered}}
        {{^pending}}<p>No approval is waiting{{#filtered}} for a client matching “{{filter}}”{{/filtered}}.</p>{{/pending}}
        {{#pending}}
        <article class="approval" data-approval="{{approvalID}}">
        <h3>{{clientName}} <small>client {{clientID}}</small> <a href="/console/approvals/{{approvalPath}}">link</a></h3>
        <dl>
        <dt>Cause</dt><dd>{{cause}}</dd>
        <dt>Trigger</dt><dd>{{trigger}}</dd>
        <dt>Reason</dt><dd>{{reason}}</dd>
        <dt>Requested</dt><dd>{{requestedAt}}</dd>
        <dt>Expires</dt><dd>{{expiresAt}}</dd>
        <dt>Event</dt><dd>{{eventID}}</dd>
        </dl>
        {{#decided}}
        <p class="decided notice" role="status"><strong>{{verdict}}</strong> by {{approver}}{{#decidedAt}} at {{decidedAt}}{{/decidedAt}}{{#comment}}: “{{comment}}”{{/comment}}; {{running}}.</p>
        {{#kept}}<p class="kept">Kept by the reviewer: {{name}} ({{id}})</p>{{/kept}}
        <table>
        <thead><tr><th>ID</th><th>Name</th><th>Type</th><th>Status</th><th></th></tr></thead>
        <tbody>
        {{#configs}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{type}}</td><td>{{status}}</td><td>{{#kept}}kept{{/kept}}</td></tr>
        {{/configs}}
        </tbody>
        </table>
        {{/decided}}
        {{^decided}}
        <form class="decision" method="post" action="/console/approvals/{{approvalPath}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><small>Untick a configuration to keep it (still in use, moving with the client): it is skipped and named in the result.</small></p>
        <table>
        <thead><tr><th>Deactivate</th><th>ID</th><th>Name</th><th>Type</th><th>Status</th></tr></thead>
        <tbody>
        {{#configs}}<tr><td><input type="checkbox" name="deactivate[]" value="{{id}}" checked aria-label="Deactivate {{name}}"></td><td>{{id}}</td><td>{{name}}</td><td>{{type}}</td><td>{{status}}</td></tr>
        {{/configs}}
        </tbody>
        </table>
        <div class="decide">
        <label>Your name <input name="approver" required maxlength="200"></label>
        <label>Comment <textarea name="comment" maxlength="4000"></textarea></label>
        <button class="approve" type="submit" name="verdict" value="approve">Approve</button>
        <button class="reject" type="submit" name="verdict" value="reject">Reject</button>
        </div>
        </form>
        {{/decided}}
        </article>
        {{/pending}}
        {{#more}}<p id="more">{{more}} more match; narrow the filter to see them.</p>{{/more}}
        </section>
        <section id="results">
        <h2>Recent results</h2>
        {{^results}}<p>No result has been published yet.</p>{{/results}}
        {{#hasResults}}
        <table>
        <thead><tr><th>Time</th><th>Client</th><th>Trigger</th><th>Outcome</th><th>Found</th><th>Changed</th><th>Skipped</th><th>Errors</th><th>Warnings</th><th></th></tr></thead>
        <tbody>
        {{#results}}<tr data-event="{{eventID}}"><td>{{timestamp}}</td><td>{{clientName}} <small>{{clientID}}</small></td><td>{{trigger}}</td><td class="{{outcomeClass}}">{{outcome}}</td><td>{{found}}</td><td>{{changed}}</td><td>{{skipped}}</td><td>{{errors}}</td><td>{{warnings}}</td><td><a href="/console/offboardings/{{eventPath}}">configurations</a> · <a href="/console/offboardings/{{eventPath}}/configs.csv">CSV</a></td></tr>
        {{/results}}
        </tbody>
        </table>
        {{/hasResults}}
        </section>
        """

    static let result = """
        <p><a href="/console">← Back to the console</a></p>
        <h2>{{kind}} of {{clientName}} <small>client {{clientID}} on {{psa}}</small></h2>
        <dl>
        <dt>Event</dt><dd>{{eventID}}</dd>
        <dt>Trigger</dt><dd>{{trigger}}</dd>
        <dt>Outcome</dt><dd class="{{outcomeClass}}">{{outcome}}</dd>
        <dt>Time</dt><dd>{{timestamp}}</dd>
        <dt>Reason</dt><dd>{{reason}}</dd>
        {{#approval}}<dt>Approval</dt><dd>{{state}}{{#approver}} by {{approver}}{{/approver}}{{#comment}}: “{{comment}}”{{/comment}}</dd>{{/approval}}
        <dt>Counts</dt><dd>found {{found}} · changed {{changed}} · skipped {{skipped}} · errors {{errors}}</dd>
        </dl>
        {{#warnings}}<p class="notice">{{code}}: {{message}}</p>{{/warnings}}
        {{#errorList}}<p class="error">{{code}}{{#configID}} (configuration {{configID}}){{/configID}}: {{message}}</p>{{/errorList}}
        <p><a href="/console/offboardings/{{eventPath}}/configs.csv">Download the configurations as CSV</a></p>
        <table>
        <thead><tr><th>ID</th><th>Name</th><th>Type</th><th>Previous status</th><th>Status</th><th>Action</th></tr></thead>
        <tbody>
        {{#configs}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{type}}</td><td>{{previous}}</td><td>{{status}}</td><td>{{action}}</td></tr>
        {{/configs}}
        </tbody>
        </table>
        """

    static let message = """
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#info}}<p class="notice" role="status">{{info}}{{#resultPath}} <a href="/console/offboardings/{{resultPath}}">Its result</a>{{/resultPath}}</p>{{/info}}
        <p><a href="/console">Back to the console</a></p>
        """
}
