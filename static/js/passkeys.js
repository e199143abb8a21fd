// Passkeys (WebAuthn): sign in, the login's second step, and adding one on the profile.
// Asks the panel for options, hands them to navigator.credentials, posts the answer back
// as JSON with the page's CSRF token. The panel checks everything (accounts.passkeys).
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function requestOptions(json) {
    json.challenge = toBytes(json.challenge);
    json.allowCredentials = descriptors(json.allowCredentials);
    return json;
  }

  function creationOptions(json) {
    json.challenge = toBytes(json.challenge);
    json.user.id = toBytes(json.user.id);
    json.excludeCredentials = descriptors(json.excludeCredentials);
    return json;
  }

  function common(credential) {
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  function assertion(credential) {
    var answer = common(credential);
    var response = credential.response;
    answer.response = {
      clientDataJSON: toText(response.clientDataJSON),
      authenticatorData: toText(response.authenticatorData),
      signature: toText(response.signature)
    };
    if (response.userHandle) { answer.response.userHandle = toText(response.userHandle); }
    return answer;
  }

  function attestation(credential) {
    var answer = common(credential);
    var response = credential.response;
    answer.response = {
      clientDataJSON: toText(response.clientDataJSON),
      attestationObject: toText(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : []
    };
    return answer;
  }

  function post(box, url, body) {
    var token = box.querySelector('input[name="csrfmiddlewaretoken"]');
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": token ? token.value : ""
      },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () {
        return { error: "The panel refused the request (" + response.status + "). Reload the page and try again." };
      });
    });
  }

  function show(box, message) {
    var slot = box.querySelector(".passkey-error");
    slot.textContent = message;
    slot.hidden = !message;
  }

  function browserError(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account here.";
    }
    return "The browser could not use a passkey" + (error && error.message ? ": " + error.message : ".");
  }

  // Follow the panel's answer: a page to go to, or an error to show.
  function follow(box, data) {
    if (data.redirect && !data.error) { window.location.assign(data.redirect); return; }
    show(box, data.error || "Something went wrong. Try again.");
    if (data.redirect) { window.setTimeout(function () { window.location.assign(data.redirect); }, 1500); }
  }

  function withNext(url, next) {
    return next ? url + "?" + new URLSearchParams({ next: next }).toString() : url;
  }

  function signIn(box) {
    var button = box.querySelector(".passkey-button");
    button.addEventListener("click", function () {
      show(box, "");
      button.disabled = true;
      post(box, box.dataset.optionsUrl).then(function (options) {
        if (options.error) { follow(box, options); return null; }
        return navigator.credentials.get({ publicKey: requestOptions(options) }).then(function (credential) {
          return post(box, withNext(box.dataset.verifyUrl, box.dataset.next), { credential: assertion(credential) });
        }, function (error) { show(box, browserError(error)); return null; });
      }).then(function (data) {
        if (data) { follow(box, data); }
      }).catch(function () {
        show(box, "The panel could not be reached. Try again.");
      }).finally(function () { button.disabled = false; });
    });
  }

  function register(form) {
    var button = form.querySelector(".passkey-button");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(form, "");
      var name = form.querySelector('input[name="name"]').value;
      button.disabled = true;
      post(form, form.dataset.optionsUrl, { name: name }).then(function (options) {
        if (options.error) { follow(form, options); return null; }
        return navigator.credentials.create({ publicKey: creationOptions(options) }).then(function (credential) {
          return post(form, form.dataset.verifyUrl, { name: name, credential: attestation(credential) });
        }, function (error) { show(form, browserError(error)); return null; });
      }).then(function (data) {
        if (data) { follow(form, data); }
      }).catch(function () {
        show(form, "The panel could not be reached. Try again.");
      }).finally(function () { button.disabled = false; });
    });
  }

  var boxes = document.querySelectorAll("[data-passkey]");
  boxes.forEach(function (box) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(box, "This browser does not support passkeys.");
      box.querySelector(".passkey-button").disabled = true;
      return;
    }
    if (box.dataset.passkey === "register") { register(box); } else { signIn(box); }
  });
})();
