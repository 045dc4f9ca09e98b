// Passkeys (issue 24): the WebAuthn ceremonies of Profile & security, the
// login page and the second-factor page. Progressive enhancement: without
// this file (or without WebAuthn in the browser) the pages work with
// passwords and codes, and the passkey controls stay hidden, or say in
// words that passkeys need JavaScript.
//
// Each ceremony asks the console for its options (a POST answered with
// JSON: {"options": {"publicKey": ...}, "flow": ...}, binary fields in
// base64url), hands them to navigator.credentials.create or .get, and
// posts the credential (base64url fields, as JSON) with a hidden form of
// the page: the console answers like every form, with a redirect to a
// page that says how it went.
(function () {
  "use strict";

  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  function toB64u(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromB64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function withIDs(list) {
    return (list || []).map(function (c) {
      var d = Object.assign({}, c);
      d.id = fromB64u(c.id);
      return d;
    });
  }

  // creationOptions and requestOptions are the console's options with
  // their binary fields as bytes, for create() and get().
  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = fromB64u(pk.challenge);
    o.user = Object.assign({}, pk.user, {id: fromB64u(pk.user.id)});
    if (pk.excludeCredentials) {
      o.excludeCredentials = withIDs(pk.excludeCredentials);
    }
    return o;
  }

  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = fromB64u(pk.challenge);
    if (pk.allowCredentials) {
      o.allowCredentials = withIDs(pk.allowCredentials);
    }
    return o;
  }

  // encode is the PublicKeyCredential as JSON, binary fields in base64url.
  function encode(cred) {
    var r = cred.response;
    var out = {id: cred.id, rawId: toB64u(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {clientDataJSON: toB64u(r.clientDataJSON)}};
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64u(r.userHandle);
      }
    }
    return out;
  }

  // ask posts fields to the console for options; a refusal rejects with
  // the console's words (and the id of the input it is about).
  function ask(url, fields) {
    return fetch(url, {method: "POST", credentials: "same-origin", headers: {"Accept": "application/json"},
      body: new URLSearchParams(fields)}).then(function (resp) {
      var json = (resp.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        throw new Error("This page has expired: reload it and try again.");
      }
      return resp.json().then(function (body) {
        if (!resp.ok) {
          var e = new Error(body.error || "Something went wrong: try again.");
          e.input = body.input || "";
          throw e;
        }
        return body;
      });
    });
  }

  // words is what to tell the person about a failed ceremony; "" when
  // there is nothing to tell (an autofill offer given up).
  function words(err) {
    switch (err && err.name) {
    case "AbortError":
      return "";
    case "NotAllowedError":
      return "No passkey was used: the request was cancelled or timed out. Try again.";
    case "InvalidStateError":
      return "This device or password manager already holds a passkey of your login: use that one, or remove it first.";
    case "SecurityError":
      return "Passkeys do not work at this address: open the console at its own address and try again.";
    case "NotSupportedError":
      return "This browser or device cannot make a passkey of this kind.";
    }
    return (err && err.message) || "Something went wrong: try again.";
  }

  function say(el, msg) {
    el.textContent = msg;
    el.hidden = !msg;
  }

  // Profile & security: add a passkey.
  function profile() {
    var form = document.getElementById("passkey-add-form");
    var finish = document.getElementById("passkey-finish-form");
    if (!form || !finish) {
      return;
    }
    var error = document.getElementById("passkey-add-error");
    var button = document.getElementById("passkey-add");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      say(error, "");
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      });
      if (!supported) {
        say(error, "This browser cannot make passkeys: use a recent Chrome, Edge, Firefox or Safari.");
        return;
      }
      button.disabled = true;
      ask(form.action, new FormData(form)).then(function (body) {
        return navigator.credentials.create({publicKey: creationOptions(body.options.publicKey)});
      }).then(function (cred) {
        finish.elements.namedItem("name").value = form.elements.namedItem("name").value;
        finish.elements.namedItem("credential").value = JSON.stringify(encode(cred));
        finish.submit();
      }).catch(function (err) {
        button.disabled = false;
        say(error, words(err));
        var input = err.input && document.getElementById(err.input);
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", error.id);
          input.focus();
        }
      });
    });
  }

  // The login page: the button, and the address field's autofill offer
  // (conditional mediation) started when the page loads.
  function login() {
    var box = document.getElementById("passkey-login");
    var form = document.getElementById("passkey-login-form");
    if (!box || !form || !supported) {
      return;
    }
    var button = document.getElementById("passkey-signin");
    var error = document.getElementById("passkey-login-error");
    var offer = null; // the autofill offer's AbortController
    box.hidden = false;

    function signIn(conditional) {
      return ask("/login/passkey/options", {}).then(function (body) {
        var req = {publicKey: requestOptions(body.options.publicKey)};
        if (conditional) {
          offer = new AbortController();
          req.mediation = "conditional";
          req.signal = offer.signal;
        }
        return navigator.credentials.get(req).then(function (cred) {
          form.elements.namedItem("flow").value = body.flow;
          form.elements.namedItem("credential").value = JSON.stringify(encode(cred));
          form.submit();
        });
      });
    }

    button.addEventListener("click", function () {
      if (offer) {
        offer.abort(); // one request at a time: the button's replaces the offer's
        offer = null;
      }
      say(error, "");
      button.disabled = true;
      signIn(false).catch(function (err) {
        button.disabled = false;
        say(error, words(err));
      });
    });

    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) {
          // A failed offer says nothing: the button and the password remain.
          signIn(true).catch(function () {});
        }
      }).catch(function () {});
    }
  }

  // The second-factor page: a passkey instead of the code.
  function second() {
    var box = document.getElementById("passkey-second");
    var form = document.getElementById("passkey-code-form");
    if (!box || !form || !supported) {
      return;
    }
    var button = document.getElementById("passkey-verify");
    var error = document.getElementById("passkey-code-error");
    box.hidden = false;
    button.addEventListener("click", function () {
      say(error, "");
      button.disabled = true;
      ask("/login/code/passkey/options", {pending: form.elements.namedItem("pending").value}).then(function (body) {
        return navigator.credentials.get({publicKey: requestOptions(body.options.publicKey)});
      }).then(function (cred) {
        form.elements.namedItem("credential").value = JSON.stringify(encode(cred));
        form.submit();
      }).catch(function (err) {
        button.disabled = false;
        say(error, words(err));
      });
    });
  }

  function start() {
    profile();
    login();
    second();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
