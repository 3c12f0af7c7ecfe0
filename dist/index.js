/******/ (() => { // webpackBootstrap
/******/ 	var __webpack_modules__ = ({

/***/ 770:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

module.exports = __nccwpck_require__(218);


/***/ }),

/***/ 218:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {

"use strict";
var __webpack_unused_export__;


var net = __nccwpck_require__(278);
var tls = __nccwpck_require__(756);
var http = __nccwpck_require__(611);
var https = __nccwpck_require__(692);
var events = __nccwpck_require__(434);
var assert = __nccwpck_require__(613);
var util = __nccwpck_require__(23);


exports.httpOverHttp = httpOverHttp;
exports.httpsOverHttp = httpsOverHttp;
exports.httpOverHttps = httpOverHttps;
exports.httpsOverHttps = httpsOverHttps;


function httpOverHttp(options) {
  var agent = new TunnelingAgent(options);
  agent.request = http.request;
  return agent;
}

function httpsOverHttp(options) {
  var agent = new TunnelingAgent(options);
  agent.request = http.request;
  agent.createSocket = createSecureSocket;
  agent.defaultPort = 443;
  return agent;
}

function httpOverHttps(options) {
  var agent = new TunnelingAgent(options);
  agent.request = https.request;
  return agent;
}

function httpsOverHttps(options) {
  var agent = new TunnelingAgent(options);
  agent.request = https.request;
  agent.createSocket = createSecureSocket;
  agent.defaultPort = 443;
  return agent;
}


function TunnelingAgent(options) {
  var self = this;
  self.options = options || {};
  self.proxyOptions = self.options.proxy || {};
  self.maxSockets = self.options.maxSockets || http.Agent.defaultMaxSockets;
  self.requests = [];
  self.sockets = [];

  self.on('free', function onFree(socket, host, port, localAddress) {
    var options = toOptions(host, port, localAddress);
    for (var i = 0, len = self.requests.length; i < len; ++i) {
      var pending = self.requests[i];
      if (pending.host === options.host && pending.port === options.port) {
        // Detect the request to connect same origin server,
        // reuse the connection.
        self.requests.splice(i, 1);
        pending.request.onSocket(socket);
        return;
      }
    }
    socket.destroy();
    self.removeSocket(socket);
  });
}
util.inherits(TunnelingAgent, events.EventEmitter);

TunnelingAgent.prototype.addRequest = function addRequest(req, host, port, localAddress) {
  var self = this;
  var options = mergeOptions({request: req}, self.options, toOptions(host, port, localAddress));

  if (self.sockets.length >= this.maxSockets) {
    // We are over limit so we'll add it to the queue.
    self.requests.push(options);
    return;
  }

  // If we are under maxSockets create a new one.
  self.createSocket(options, function(socket) {
    socket.on('free', onFree);
    socket.on('close', onCloseOrRemove);
    socket.on('agentRemove', onCloseOrRemove);
    req.onSocket(socket);

    function onFree() {
      self.emit('free', socket, options);
    }

    function onCloseOrRemove(err) {
      self.removeSocket(socket);
      socket.removeListener('free', onFree);
      socket.removeListener('close', onCloseOrRemove);
      socket.removeListener('agentRemove', onCloseOrRemove);
    }
  });
};

TunnelingAgent.prototype.createSocket = function createSocket(options, cb) {
  var self = this;
  var placeholder = {};
  self.sockets.push(placeholder);

  var connectOptions = mergeOptions({}, self.proxyOptions, {
    method: 'CONNECT',
    path: options.host + ':' + options.port,
    agent: false,
    headers: {
      host: options.host + ':' + options.port
    }
  });
  if (options.localAddress) {
    connectOptions.localAddress = options.localAddress;
  }
  if (connectOptions.proxyAuth) {
    connectOptions.headers = connectOptions.headers || {};
    connectOptions.headers['Proxy-Authorization'] = 'Basic ' +
        new Buffer(connectOptions.proxyAuth).toString('base64');
  }

  debug('making CONNECT request');
  var connectReq = self.request(connectOptions);
  connectReq.useChunkedEncodingByDefault = false; // for v0.6
  connectReq.once('response', onResponse); // for v0.6
  connectReq.once('upgrade', onUpgrade);   // for v0.6
  connectReq.once('connect', onConnect);   // for v0.7 or later
  connectReq.once('error', onError);
  connectReq.end();

  function onResponse(res) {
    // Very hacky. This is necessary to avoid http-parser leaks.
    res.upgrade = true;
  }

  function onUpgrade(res, socket, head) {
    // Hacky.
    process.nextTick(function() {
      onConnect(res, socket, head);
    });
  }

  function onConnect(res, socket, head) {
    connectReq.removeAllListeners();
    socket.removeAllListeners();

    if (res.statusCode !== 200) {
      debug('tunneling socket could not be established, statusCode=%d',
        res.statusCode);
      socket.destroy();
      var error = new Error('tunneling socket could not be established, ' +
        'statusCode=' + res.statusCode);
      error.code = 'ECONNRESET';
      options.request.emit('error', error);
      self.removeSocket(placeholder);
      return;
    }
    if (head.length > 0) {
      debug('got illegal response body from proxy');
      socket.destroy();
      var error = new Error('got illegal response body from proxy');
      error.code = 'ECONNRESET';
      options.request.emit('error', error);
      self.removeSocket(placeholder);
      return;
    }
    debug('tunneling connection has established');
    self.sockets[self.sockets.indexOf(placeholder)] = socket;
    return cb(socket);
  }

  function onError(cause) {
    connectReq.removeAllListeners();

    debug('tunneling socket could not be established, cause=%s\n',
          cause.message, cause.stack);
    var error = new Error('tunneling socket could not be established, ' +
                          'cause=' + cause.message);
    error.code = 'ECONNRESET';
    options.request.emit('error', error);
    self.removeSocket(placeholder);
  }
};

TunnelingAgent.prototype.removeSocket = function removeSocket(socket) {
  var pos = this.sockets.indexOf(socket)
  if (pos === -1) {
    return;
  }
  this.sockets.splice(pos, 1);

  var pending = this.requests.shift();
  if (pending) {
    // If we have pending requests and a socket gets closed a new one
    // needs to be created to take over in the pool for the one that closed.
    this.createSocket(pending, function(socket) {
      pending.request.onSocket(socket);
    });
  }
};

function createSecureSocket(options, cb) {
  var self = this;
  TunnelingAgent.prototype.createSocket.call(self, options, function(socket) {
    var hostHeader = options.request.getHeader('host');
    var tlsOptions = mergeOptions({}, self.options, {
      socket: socket,
      servername: hostHeader ? hostHeader.replace(/:.*$/, '') : options.host
    });

    // 0 is dummy port for v0.6
    var secureSocket = tls.connect(0, tlsOptions);
    self.sockets[self.sockets.indexOf(socket)] = secureSocket;
    cb(secureSocket);
  });
}


function toOptions(host, port, localAddress) {
  if (typeof host === 'string') { // since v0.10
    return {
      host: host,
      port: port,
      localAddress: localAddress
    };
  }
  return host; // for v0.11 or later
}

function mergeOptions(target) {
  for (var i = 1, len = arguments.length; i < len; ++i) {
    var overrides = arguments[i];
    if (typeof overrides === 'object') {
      var keys = Object.keys(overrides);
      for (var j = 0, keyLen = keys.length; j < keyLen; ++j) {
        var k = keys[j];
        if (overrides[k] !== undefined) {
          target[k] = overrides[k];
        }
      }
    }
  }
  return target;
}


var debug;
if (process.env.NODE_DEBUG && /\btunnel\b/.test(process.env.NODE_DEBUG)) {
  debug = function() {
    var args = Array.prototype.slice.call(arguments);
    if (typeof args[0] === 'string') {
      args[0] = 'TUNNEL: ' + args[0];
    } else {
      args.unshift('TUNNEL:');
    }
    console.error.apply(console, args);
  }
} else {
  debug = function() {};
}
__webpack_unused_export__ = debug; // for test


/***/ }),

/***/ 613:
/***/ ((module) => {

"use strict";
module.exports = require("assert");

/***/ }),

/***/ 434:
/***/ ((module) => {

"use strict";
module.exports = require("events");

/***/ }),

/***/ 611:
/***/ ((module) => {

"use strict";
module.exports = require("http");

/***/ }),

/***/ 692:
/***/ ((module) => {

"use strict";
module.exports = require("https");

/***/ }),

/***/ 278:
/***/ ((module) => {

"use strict";
module.exports = require("net");

/***/ }),

/***/ 756:
/***/ ((module) => {

"use strict";
module.exports = require("tls");

/***/ }),

/***/ 23:
/***/ ((module) => {

"use strict";
module.exports = require("util");

/***/ })

/******/ 	});
/************************************************************************/
/******/ 	// The module cache
/******/ 	var __webpack_module_cache__ = {};
/******/ 	
/******/ 	// The require function
/******/ 	function __nccwpck_require__(moduleId) {
/******/ 		// Check if module is in cache
/******/ 		var cachedModule = __webpack_module_cache__[moduleId];
/******/ 		if (cachedModule !== undefined) {
/******/ 			return cachedModule.exports;
/******/ 		}
/******/ 		// Create a new module (and put it into the cache)
/******/ 		var module = __webpack_module_cache__[moduleId] = {
/******/ 			// no module.id needed
/******/ 			// no module.loaded needed
/******/ 			exports: {}
/******/ 		};
/******/ 	
/******/ 		// Execute the module function
/******/ 		var threw = true;
/******/ 		try {
/******/ 			__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 			threw = false;
/******/ 		} finally {
/******/ 			if(threw) delete __webpack_module_cache__[moduleId];
/******/ 		}
/******/ 	
/******/ 		// Return the exports of the module
/******/ 		return module.exports;
/******/ 	}
/******/ 	
/************************************************************************/
/******/ 	/* webpack/runtime/asset-relocator-loader */
/******/ 	if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = __dirname + "/";
/******/ 	
/******/ 	/* webpack/runtime/create fake namespace object */
/******/ 	(() => {
/******/ 		var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 		var leafPrototypes;
/******/ 		// create a fake namespace object
/******/ 		// mode & 1: value is a module id, require it
/******/ 		// mode & 2: merge all properties of value into the ns
/******/ 		// mode & 4: return value when already ns object
/******/ 		// mode & 16: return value when it's Promise-like
/******/ 		// mode & 8|1: behave like require
/******/ 		__nccwpck_require__.t = function(value, mode) {
/******/ 			if(mode & 1) value = this(value);
/******/ 			if(mode & 8) return value;
/******/ 			if(typeof value === 'object' && value) {
/******/ 				if((mode & 4) && value.__esModule) return value;
/******/ 				if((mode & 16) && typeof value.then === 'function') return value;
/******/ 			}
/******/ 			var ns = Object.create(null);
/******/ 			__nccwpck_require__.r(ns);
/******/ 			var def = {};
/******/ 			leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 			for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 				Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 			}
/******/ 			def['default'] = () => (value);
/******/ 			__nccwpck_require__.d(ns, def);
/******/ 			return ns;
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/define property getters */
/******/ 	(() => {
/******/ 		// define getter functions for harmony exports
/******/ 		__nccwpck_require__.d = (exports, definition) => {
/******/ 			for(var key in definition) {
/******/ 				if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 					Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 				}
/******/ 			}
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/hasOwnProperty shorthand */
/******/ 	(() => {
/******/ 		__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/make namespace object */
/******/ 	(() => {
/******/ 		// define __esModule on exports
/******/ 		__nccwpck_require__.r = (exports) => {
/******/ 			if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 				Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 			}
/******/ 			Object.defineProperty(exports, '__esModule', { value: true });
/******/ 		};
/******/ 	})();
/******/ 	
/************************************************************************/
var __webpack_exports__ = {};
// This entry need to be wrapped in an IIFE because it need to be in strict mode.
(() => {
"use strict";

;// CONCATENATED MODULE: external "os"
const external_os_namespaceObject = require("os");
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/utils.js
// We use any as a valid input type
/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * Sanitizes an input into a string so it can be passed into issueCommand safely
 * @param input input to sanitize into a string
 */
function utils_toCommandValue(input) {
    if (input === null || input === undefined) {
        return '';
    }
    else if (typeof input === 'string' || input instanceof String) {
        return input;
    }
    return JSON.stringify(input);
}
/**
 *
 * @param annotationProperties
 * @returns The command properties to send with the actual annotation command
 * See IssueCommandProperties: https://github.com/actions/runner/blob/main/src/Runner.Worker/ActionCommandManager.cs#L646
 */
function utils_toCommandProperties(annotationProperties) {
    if (!Object.keys(annotationProperties).length) {
        return {};
    }
    return {
        title: annotationProperties.title,
        file: annotationProperties.file,
        line: annotationProperties.startLine,
        endLine: annotationProperties.endLine,
        col: annotationProperties.startColumn,
        endColumn: annotationProperties.endColumn
    };
}
//# sourceMappingURL=utils.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/command.js


/**
 * Issues a command to the GitHub Actions runner
 *
 * @param command - The command name to issue
 * @param properties - Additional properties for the command (key-value pairs)
 * @param message - The message to include with the command
 * @remarks
 * This function outputs a specially formatted string to stdout that the Actions
 * runner interprets as a command. These commands can control workflow behavior,
 * set outputs, create annotations, mask values, and more.
 *
 * Command Format:
 *   ::name key=value,key=value::message
 *
 * @example
 * ```typescript
 * // Issue a warning annotation
 * issueCommand('warning', {}, 'This is a warning message');
 * // Output: ::warning::This is a warning message
 *
 * // Set an environment variable
 * issueCommand('set-env', { name: 'MY_VAR' }, 'some value');
 * // Output: ::set-env name=MY_VAR::some value
 *
 * // Add a secret mask
 * issueCommand('add-mask', {}, 'secretValue123');
 * // Output: ::add-mask::secretValue123
 * ```
 *
 * @internal
 * This is an internal utility function that powers the public API functions
 * such as setSecret, warning, error, and exportVariable.
 */
function command_issueCommand(command, properties, message) {
    const cmd = new Command(command, properties, message);
    process.stdout.write(cmd.toString() + external_os_namespaceObject.EOL);
}
function command_issue(name, message = '') {
    command_issueCommand(name, {}, message);
}
const CMD_STRING = '::';
class Command {
    constructor(command, properties, message) {
        if (!command) {
            command = 'missing.command';
        }
        this.command = command;
        this.properties = properties;
        this.message = message;
    }
    toString() {
        let cmdStr = CMD_STRING + this.command;
        if (this.properties && Object.keys(this.properties).length > 0) {
            cmdStr += ' ';
            let first = true;
            for (const key in this.properties) {
                if (this.properties.hasOwnProperty(key)) {
                    const val = this.properties[key];
                    if (val) {
                        if (first) {
                            first = false;
                        }
                        else {
                            cmdStr += ',';
                        }
                        cmdStr += `${key}=${escapeProperty(val)}`;
                    }
                }
            }
        }
        cmdStr += `${CMD_STRING}${escapeData(this.message)}`;
        return cmdStr;
    }
}
function escapeData(s) {
    return utils_toCommandValue(s)
        .replace(/%/g, '%25')
        .replace(/\r/g, '%0D')
        .replace(/\n/g, '%0A');
}
function escapeProperty(s) {
    return utils_toCommandValue(s)
        .replace(/%/g, '%25')
        .replace(/\r/g, '%0D')
        .replace(/\n/g, '%0A')
        .replace(/:/g, '%3A')
        .replace(/,/g, '%2C');
}
//# sourceMappingURL=command.js.map
;// CONCATENATED MODULE: external "crypto"
const external_crypto_namespaceObject = require("crypto");
;// CONCATENATED MODULE: external "fs"
const external_fs_namespaceObject = require("fs");
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/file-command.js
// For internal use, subject to change.
// We use any as a valid input type
/* eslint-disable @typescript-eslint/no-explicit-any */




function file_command_issueFileCommand(command, message) {
    const filePath = process.env[`GITHUB_${command}`];
    if (!filePath) {
        throw new Error(`Unable to find environment variable for file command ${command}`);
    }
    if (!external_fs_namespaceObject.existsSync(filePath)) {
        throw new Error(`Missing file at path: ${filePath}`);
    }
    external_fs_namespaceObject.appendFileSync(filePath, `${utils_toCommandValue(message)}${external_os_namespaceObject.EOL}`, {
        encoding: 'utf8'
    });
}
function file_command_prepareKeyValueMessage(key, value) {
    const delimiter = `ghadelimiter_${external_crypto_namespaceObject.randomUUID()}`;
    const convertedValue = utils_toCommandValue(value);
    // These should realistically never happen, but just in case someone finds a
    // way to exploit uuid generation let's not allow keys or values that contain
    // the delimiter.
    if (key.includes(delimiter)) {
        throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
    }
    if (convertedValue.includes(delimiter)) {
        throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
    }
    return `${key}<<${delimiter}${external_os_namespaceObject.EOL}${convertedValue}${external_os_namespaceObject.EOL}${delimiter}`;
}
//# sourceMappingURL=file-command.js.map
;// CONCATENATED MODULE: external "path"
const external_path_namespaceObject = require("path");
// EXTERNAL MODULE: external "http"
var external_http_ = __nccwpck_require__(611);
var external_http_namespaceObject = /*#__PURE__*/__nccwpck_require__.t(external_http_, 2);
// EXTERNAL MODULE: external "https"
var external_https_ = __nccwpck_require__(692);
var external_https_namespaceObject = /*#__PURE__*/__nccwpck_require__.t(external_https_, 2);
;// CONCATENATED MODULE: ./node_modules/@actions/http-client/lib/proxy.js
function getProxyUrl(reqUrl) {
    const usingSsl = reqUrl.protocol === 'https:';
    if (checkBypass(reqUrl)) {
        return undefined;
    }
    const proxyVar = (() => {
        if (usingSsl) {
            return process.env['https_proxy'] || process.env['HTTPS_PROXY'];
        }
        else {
            return process.env['http_proxy'] || process.env['HTTP_PROXY'];
        }
    })();
    if (proxyVar) {
        try {
            return new DecodedURL(proxyVar);
        }
        catch (_a) {
            if (!proxyVar.startsWith('http://') && !proxyVar.startsWith('https://'))
                return new DecodedURL(`http://${proxyVar}`);
        }
    }
    else {
        return undefined;
    }
}
function checkBypass(reqUrl) {
    if (!reqUrl.hostname) {
        return false;
    }
    const reqHost = reqUrl.hostname;
    if (isLoopbackAddress(reqHost)) {
        return true;
    }
    const noProxy = process.env['no_proxy'] || process.env['NO_PROXY'] || '';
    if (!noProxy) {
        return false;
    }
    // Determine the request port
    let reqPort;
    if (reqUrl.port) {
        reqPort = Number(reqUrl.port);
    }
    else if (reqUrl.protocol === 'http:') {
        reqPort = 80;
    }
    else if (reqUrl.protocol === 'https:') {
        reqPort = 443;
    }
    // Format the request hostname and hostname with port
    const upperReqHosts = [reqUrl.hostname.toUpperCase()];
    if (typeof reqPort === 'number') {
        upperReqHosts.push(`${upperReqHosts[0]}:${reqPort}`);
    }
    // Compare request host against noproxy
    for (const upperNoProxyItem of noProxy
        .split(',')
        .map(x => x.trim().toUpperCase())
        .filter(x => x)) {
        if (upperNoProxyItem === '*' ||
            upperReqHosts.some(x => x === upperNoProxyItem ||
                x.endsWith(`.${upperNoProxyItem}`) ||
                (upperNoProxyItem.startsWith('.') &&
                    x.endsWith(`${upperNoProxyItem}`)))) {
            return true;
        }
    }
    return false;
}
function isLoopbackAddress(host) {
    const hostLower = host.toLowerCase();
    return (hostLower === 'localhost' ||
        hostLower.startsWith('127.') ||
        hostLower.startsWith('[::1]') ||
        hostLower.startsWith('[0:0:0:0:0:0:0:1]'));
}
class DecodedURL extends URL {
    constructor(url, base) {
        super(url, base);
        this._decodedUsername = decodeURIComponent(super.username);
        this._decodedPassword = decodeURIComponent(super.password);
    }
    get username() {
        return this._decodedUsername;
    }
    get password() {
        return this._decodedPassword;
    }
}
//# sourceMappingURL=proxy.js.map
// EXTERNAL MODULE: ./node_modules/tunnel/index.js
var tunnel = __nccwpck_require__(770);
;// CONCATENATED MODULE: ./src/undici-left-out.ts
/**
 * Stands in for `undici` in dist/index.js (tsconfig.json maps the name here; ncc follows that
 * mapping, jest does not). @actions/http-client imports undici for one method,
 * `HttpClient.getAgentDispatcher`, which hands a proxy dispatcher to `fetch`. The action never
 * calls it: every request goes through `HttpClient.request` on Node's own http and https. Loading
 * undici anyway cost about 60 % of the action's start-up and 80 % of the bundle, in every
 * pipeline that runs the step. `__tests__/supply-chain.test.ts` fails if http-client starts to use
 * undici anywhere else, or if the bundle carries it again.
 */
class ProxyAgent {
    constructor() {
        throw new Error('registry-auth-preflight: undici is left out of this bundle; HttpClient.getAgentDispatcher is not supported');
    }
}

;// CONCATENATED MODULE: ./node_modules/@actions/http-client/lib/index.js
/* eslint-disable @typescript-eslint/no-explicit-any */
var __awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};





var HttpCodes;
(function (HttpCodes) {
    HttpCodes[HttpCodes["OK"] = 200] = "OK";
    HttpCodes[HttpCodes["MultipleChoices"] = 300] = "MultipleChoices";
    HttpCodes[HttpCodes["MovedPermanently"] = 301] = "MovedPermanently";
    HttpCodes[HttpCodes["ResourceMoved"] = 302] = "ResourceMoved";
    HttpCodes[HttpCodes["SeeOther"] = 303] = "SeeOther";
    HttpCodes[HttpCodes["NotModified"] = 304] = "NotModified";
    HttpCodes[HttpCodes["UseProxy"] = 305] = "UseProxy";
    HttpCodes[HttpCodes["SwitchProxy"] = 306] = "SwitchProxy";
    HttpCodes[HttpCodes["TemporaryRedirect"] = 307] = "TemporaryRedirect";
    HttpCodes[HttpCodes["PermanentRedirect"] = 308] = "PermanentRedirect";
    HttpCodes[HttpCodes["BadRequest"] = 400] = "BadRequest";
    HttpCodes[HttpCodes["Unauthorized"] = 401] = "Unauthorized";
    HttpCodes[HttpCodes["PaymentRequired"] = 402] = "PaymentRequired";
    HttpCodes[HttpCodes["Forbidden"] = 403] = "Forbidden";
    HttpCodes[HttpCodes["NotFound"] = 404] = "NotFound";
    HttpCodes[HttpCodes["MethodNotAllowed"] = 405] = "MethodNotAllowed";
    HttpCodes[HttpCodes["NotAcceptable"] = 406] = "NotAcceptable";
    HttpCodes[HttpCodes["ProxyAuthenticationRequired"] = 407] = "ProxyAuthenticationRequired";
    HttpCodes[HttpCodes["RequestTimeout"] = 408] = "RequestTimeout";
    HttpCodes[HttpCodes["Conflict"] = 409] = "Conflict";
    HttpCodes[HttpCodes["Gone"] = 410] = "Gone";
    HttpCodes[HttpCodes["TooManyRequests"] = 429] = "TooManyRequests";
    HttpCodes[HttpCodes["InternalServerError"] = 500] = "InternalServerError";
    HttpCodes[HttpCodes["NotImplemented"] = 501] = "NotImplemented";
    HttpCodes[HttpCodes["BadGateway"] = 502] = "BadGateway";
    HttpCodes[HttpCodes["ServiceUnavailable"] = 503] = "ServiceUnavailable";
    HttpCodes[HttpCodes["GatewayTimeout"] = 504] = "GatewayTimeout";
})(HttpCodes || (HttpCodes = {}));
var Headers;
(function (Headers) {
    Headers["Accept"] = "accept";
    Headers["ContentType"] = "content-type";
})(Headers || (Headers = {}));
var MediaTypes;
(function (MediaTypes) {
    MediaTypes["ApplicationJson"] = "application/json";
})(MediaTypes || (MediaTypes = {}));
/**
 * Returns the proxy URL, depending upon the supplied url and proxy environment variables.
 * @param serverUrl  The server URL where the request will be sent. For example, https://api.github.com
 */
function lib_getProxyUrl(serverUrl) {
    const proxyUrl = pm.getProxyUrl(new URL(serverUrl));
    return proxyUrl ? proxyUrl.href : '';
}
const HttpRedirectCodes = [
    HttpCodes.MovedPermanently,
    HttpCodes.ResourceMoved,
    HttpCodes.SeeOther,
    HttpCodes.TemporaryRedirect,
    HttpCodes.PermanentRedirect
];
const HttpResponseRetryCodes = [
    HttpCodes.BadGateway,
    HttpCodes.ServiceUnavailable,
    HttpCodes.GatewayTimeout
];
const RetryableHttpVerbs = ['OPTIONS', 'GET', 'DELETE', 'HEAD'];
const ExponentialBackoffCeiling = 10;
const ExponentialBackoffTimeSlice = 5;
class HttpClientError extends Error {
    constructor(message, statusCode) {
        super(message);
        this.name = 'HttpClientError';
        this.statusCode = statusCode;
        Object.setPrototypeOf(this, HttpClientError.prototype);
    }
}
class HttpClientResponse {
    constructor(message) {
        this.message = message;
    }
    readBody() {
        return __awaiter(this, void 0, void 0, function* () {
            return new Promise((resolve) => __awaiter(this, void 0, void 0, function* () {
                let output = Buffer.alloc(0);
                this.message.on('data', (chunk) => {
                    output = Buffer.concat([output, chunk]);
                });
                this.message.on('end', () => {
                    resolve(output.toString());
                });
            }));
        });
    }
    readBodyBuffer() {
        return __awaiter(this, void 0, void 0, function* () {
            return new Promise((resolve) => __awaiter(this, void 0, void 0, function* () {
                const chunks = [];
                this.message.on('data', (chunk) => {
                    chunks.push(chunk);
                });
                this.message.on('end', () => {
                    resolve(Buffer.concat(chunks));
                });
            }));
        });
    }
}
function isHttps(requestUrl) {
    const parsedUrl = new URL(requestUrl);
    return parsedUrl.protocol === 'https:';
}
class lib_HttpClient {
    constructor(userAgent, handlers, requestOptions) {
        this._ignoreSslError = false;
        this._allowRedirects = true;
        this._allowRedirectDowngrade = false;
        this._maxRedirects = 50;
        this._allowRetries = false;
        this._maxRetries = 1;
        this._keepAlive = false;
        this._disposed = false;
        this.userAgent = this._getUserAgentWithOrchestrationId(userAgent);
        this.handlers = handlers || [];
        this.requestOptions = requestOptions;
        if (requestOptions) {
            if (requestOptions.ignoreSslError != null) {
                this._ignoreSslError = requestOptions.ignoreSslError;
            }
            this._socketTimeout = requestOptions.socketTimeout;
            if (requestOptions.allowRedirects != null) {
                this._allowRedirects = requestOptions.allowRedirects;
            }
            if (requestOptions.allowRedirectDowngrade != null) {
                this._allowRedirectDowngrade = requestOptions.allowRedirectDowngrade;
            }
            if (requestOptions.maxRedirects != null) {
                this._maxRedirects = Math.max(requestOptions.maxRedirects, 0);
            }
            if (requestOptions.keepAlive != null) {
                this._keepAlive = requestOptions.keepAlive;
            }
            if (requestOptions.allowRetries != null) {
                this._allowRetries = requestOptions.allowRetries;
            }
            if (requestOptions.maxRetries != null) {
                this._maxRetries = requestOptions.maxRetries;
            }
        }
    }
    options(requestUrl, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('OPTIONS', requestUrl, null, additionalHeaders || {});
        });
    }
    get(requestUrl, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('GET', requestUrl, null, additionalHeaders || {});
        });
    }
    del(requestUrl, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('DELETE', requestUrl, null, additionalHeaders || {});
        });
    }
    post(requestUrl, data, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('POST', requestUrl, data, additionalHeaders || {});
        });
    }
    patch(requestUrl, data, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('PATCH', requestUrl, data, additionalHeaders || {});
        });
    }
    put(requestUrl, data, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('PUT', requestUrl, data, additionalHeaders || {});
        });
    }
    head(requestUrl, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request('HEAD', requestUrl, null, additionalHeaders || {});
        });
    }
    sendStream(verb, requestUrl, stream, additionalHeaders) {
        return __awaiter(this, void 0, void 0, function* () {
            return this.request(verb, requestUrl, stream, additionalHeaders);
        });
    }
    /**
     * Gets a typed object from an endpoint
     * Be aware that not found returns a null.  Other errors (4xx, 5xx) reject the promise
     */
    getJson(requestUrl_1) {
        return __awaiter(this, arguments, void 0, function* (requestUrl, additionalHeaders = {}) {
            additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
            const res = yield this.get(requestUrl, additionalHeaders);
            return this._processResponse(res, this.requestOptions);
        });
    }
    postJson(requestUrl_1, obj_1) {
        return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
            const data = JSON.stringify(obj, null, 2);
            additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
            additionalHeaders[Headers.ContentType] =
                this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
            const res = yield this.post(requestUrl, data, additionalHeaders);
            return this._processResponse(res, this.requestOptions);
        });
    }
    putJson(requestUrl_1, obj_1) {
        return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
            const data = JSON.stringify(obj, null, 2);
            additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
            additionalHeaders[Headers.ContentType] =
                this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
            const res = yield this.put(requestUrl, data, additionalHeaders);
            return this._processResponse(res, this.requestOptions);
        });
    }
    patchJson(requestUrl_1, obj_1) {
        return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
            const data = JSON.stringify(obj, null, 2);
            additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
            additionalHeaders[Headers.ContentType] =
                this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
            const res = yield this.patch(requestUrl, data, additionalHeaders);
            return this._processResponse(res, this.requestOptions);
        });
    }
    /**
     * Makes a raw http request.
     * All other methods such as get, post, patch, and request ultimately call this.
     * Prefer get, del, post and patch
     */
    request(verb, requestUrl, data, headers) {
        return __awaiter(this, void 0, void 0, function* () {
            if (this._disposed) {
                throw new Error('Client has already been disposed.');
            }
            const parsedUrl = new URL(requestUrl);
            let info = this._prepareRequest(verb, parsedUrl, headers);
            // Only perform retries on reads since writes may not be idempotent.
            const maxTries = this._allowRetries && RetryableHttpVerbs.includes(verb)
                ? this._maxRetries + 1
                : 1;
            let numTries = 0;
            let response;
            do {
                response = yield this.requestRaw(info, data);
                // Check if it's an authentication challenge
                if (response &&
                    response.message &&
                    response.message.statusCode === HttpCodes.Unauthorized) {
                    let authenticationHandler;
                    for (const handler of this.handlers) {
                        if (handler.canHandleAuthentication(response)) {
                            authenticationHandler = handler;
                            break;
                        }
                    }
                    if (authenticationHandler) {
                        return authenticationHandler.handleAuthentication(this, info, data);
                    }
                    else {
                        // We have received an unauthorized response but have no handlers to handle it.
                        // Let the response return to the caller.
                        return response;
                    }
                }
                let redirectsRemaining = this._maxRedirects;
                while (response.message.statusCode &&
                    HttpRedirectCodes.includes(response.message.statusCode) &&
                    this._allowRedirects &&
                    redirectsRemaining > 0) {
                    const redirectUrl = response.message.headers['location'];
                    if (!redirectUrl) {
                        // if there's no location to redirect to, we won't
                        break;
                    }
                    const parsedRedirectUrl = new URL(redirectUrl);
                    if (parsedUrl.protocol === 'https:' &&
                        parsedUrl.protocol !== parsedRedirectUrl.protocol &&
                        !this._allowRedirectDowngrade) {
                        throw new Error('Redirect from HTTPS to HTTP protocol. This downgrade is not allowed for security reasons. If you want to allow this behavior, set the allowRedirectDowngrade option to true.');
                    }
                    // we need to finish reading the response before reassigning response
                    // which will leak the open socket.
                    yield response.readBody();
                    // strip authorization header if redirected to a different hostname
                    if (parsedRedirectUrl.hostname !== parsedUrl.hostname) {
                        for (const header in headers) {
                            // header names are case insensitive
                            if (header.toLowerCase() === 'authorization') {
                                delete headers[header];
                            }
                        }
                    }
                    // let's make the request with the new redirectUrl
                    info = this._prepareRequest(verb, parsedRedirectUrl, headers);
                    response = yield this.requestRaw(info, data);
                    redirectsRemaining--;
                }
                if (!response.message.statusCode ||
                    !HttpResponseRetryCodes.includes(response.message.statusCode)) {
                    // If not a retry code, return immediately instead of retrying
                    return response;
                }
                numTries += 1;
                if (numTries < maxTries) {
                    yield response.readBody();
                    yield this._performExponentialBackoff(numTries);
                }
            } while (numTries < maxTries);
            return response;
        });
    }
    /**
     * Needs to be called if keepAlive is set to true in request options.
     */
    dispose() {
        if (this._agent) {
            this._agent.destroy();
        }
        this._disposed = true;
    }
    /**
     * Raw request.
     * @param info
     * @param data
     */
    requestRaw(info, data) {
        return __awaiter(this, void 0, void 0, function* () {
            return new Promise((resolve, reject) => {
                function callbackForResult(err, res) {
                    if (err) {
                        reject(err);
                    }
                    else if (!res) {
                        // If `err` is not passed, then `res` must be passed.
                        reject(new Error('Unknown error'));
                    }
                    else {
                        resolve(res);
                    }
                }
                this.requestRawWithCallback(info, data, callbackForResult);
            });
        });
    }
    /**
     * Raw request with callback.
     * @param info
     * @param data
     * @param onResult
     */
    requestRawWithCallback(info, data, onResult) {
        if (typeof data === 'string') {
            if (!info.options.headers) {
                info.options.headers = {};
            }
            info.options.headers['Content-Length'] = Buffer.byteLength(data, 'utf8');
        }
        let callbackCalled = false;
        function handleResult(err, res) {
            if (!callbackCalled) {
                callbackCalled = true;
                onResult(err, res);
            }
        }
        const req = info.httpModule.request(info.options, (msg) => {
            const res = new HttpClientResponse(msg);
            handleResult(undefined, res);
        });
        let socket;
        req.on('socket', sock => {
            socket = sock;
        });
        // If we ever get disconnected, we want the socket to timeout eventually
        req.setTimeout(this._socketTimeout || 3 * 60000, () => {
            if (socket) {
                socket.end();
            }
            handleResult(new Error(`Request timeout: ${info.options.path}`));
        });
        req.on('error', function (err) {
            // err has statusCode property
            // res should have headers
            handleResult(err);
        });
        if (data && typeof data === 'string') {
            req.write(data, 'utf8');
        }
        if (data && typeof data !== 'string') {
            data.on('close', function () {
                req.end();
            });
            data.pipe(req);
        }
        else {
            req.end();
        }
    }
    /**
     * Gets an http agent. This function is useful when you need an http agent that handles
     * routing through a proxy server - depending upon the url and proxy environment variables.
     * @param serverUrl  The server URL where the request will be sent. For example, https://api.github.com
     */
    getAgent(serverUrl) {
        const parsedUrl = new URL(serverUrl);
        return this._getAgent(parsedUrl);
    }
    getAgentDispatcher(serverUrl) {
        const parsedUrl = new URL(serverUrl);
        const proxyUrl = getProxyUrl(parsedUrl);
        const useProxy = proxyUrl && proxyUrl.hostname;
        if (!useProxy) {
            return;
        }
        return this._getProxyAgentDispatcher(parsedUrl, proxyUrl);
    }
    _prepareRequest(method, requestUrl, headers) {
        const info = {};
        info.parsedUrl = requestUrl;
        const usingSsl = info.parsedUrl.protocol === 'https:';
        info.httpModule = usingSsl ? external_https_namespaceObject : external_http_namespaceObject;
        const defaultPort = usingSsl ? 443 : 80;
        info.options = {};
        info.options.host = info.parsedUrl.hostname;
        info.options.port = info.parsedUrl.port
            ? parseInt(info.parsedUrl.port)
            : defaultPort;
        info.options.path =
            (info.parsedUrl.pathname || '') + (info.parsedUrl.search || '');
        info.options.method = method;
        info.options.headers = this._mergeHeaders(headers);
        if (this.userAgent != null) {
            info.options.headers['user-agent'] = this.userAgent;
        }
        info.options.agent = this._getAgent(info.parsedUrl);
        // gives handlers an opportunity to participate
        if (this.handlers) {
            for (const handler of this.handlers) {
                handler.prepareRequest(info.options);
            }
        }
        return info;
    }
    _mergeHeaders(headers) {
        if (this.requestOptions && this.requestOptions.headers) {
            return Object.assign({}, lowercaseKeys(this.requestOptions.headers), lowercaseKeys(headers || {}));
        }
        return lowercaseKeys(headers || {});
    }
    /**
     * Gets an existing header value or returns a default.
     * Handles converting number header values to strings since HTTP headers must be strings.
     * Note: This returns string | string[] since some headers can have multiple values.
     * For headers that must always be a single string (like Content-Type), use the
     * specialized _getExistingOrDefaultContentTypeHeader method instead.
     */
    _getExistingOrDefaultHeader(additionalHeaders, header, _default) {
        let clientHeader;
        if (this.requestOptions && this.requestOptions.headers) {
            const headerValue = lowercaseKeys(this.requestOptions.headers)[header];
            if (headerValue) {
                clientHeader =
                    typeof headerValue === 'number' ? headerValue.toString() : headerValue;
            }
        }
        const additionalValue = additionalHeaders[header];
        if (additionalValue !== undefined) {
            return typeof additionalValue === 'number'
                ? additionalValue.toString()
                : additionalValue;
        }
        if (clientHeader !== undefined) {
            return clientHeader;
        }
        return _default;
    }
    /**
     * Specialized version of _getExistingOrDefaultHeader for Content-Type header.
     * Always returns a single string (not an array) since Content-Type should be a single value.
     * Converts arrays to comma-separated strings and numbers to strings to ensure type safety.
     * This was split from _getExistingOrDefaultHeader to provide stricter typing for callers
     * that assign the result to places expecting a string (e.g., additionalHeaders[Headers.ContentType]).
     */
    _getExistingOrDefaultContentTypeHeader(additionalHeaders, _default) {
        let clientHeader;
        if (this.requestOptions && this.requestOptions.headers) {
            const headerValue = lowercaseKeys(this.requestOptions.headers)[Headers.ContentType];
            if (headerValue) {
                if (typeof headerValue === 'number') {
                    clientHeader = String(headerValue);
                }
                else if (Array.isArray(headerValue)) {
                    clientHeader = headerValue.join(', ');
                }
                else {
                    clientHeader = headerValue;
                }
            }
        }
        const additionalValue = additionalHeaders[Headers.ContentType];
        // Return the first non-undefined value, converting numbers or arrays to strings if necessary
        if (additionalValue !== undefined) {
            if (typeof additionalValue === 'number') {
                return String(additionalValue);
            }
            else if (Array.isArray(additionalValue)) {
                return additionalValue.join(', ');
            }
            else {
                return additionalValue;
            }
        }
        if (clientHeader !== undefined) {
            return clientHeader;
        }
        return _default;
    }
    _getAgent(parsedUrl) {
        let agent;
        const proxyUrl = getProxyUrl(parsedUrl);
        const useProxy = proxyUrl && proxyUrl.hostname;
        if (this._keepAlive && useProxy) {
            agent = this._proxyAgent;
        }
        if (!useProxy) {
            agent = this._agent;
        }
        // if agent is already assigned use that agent.
        if (agent) {
            return agent;
        }
        const usingSsl = parsedUrl.protocol === 'https:';
        let maxSockets = 100;
        if (this.requestOptions) {
            maxSockets = this.requestOptions.maxSockets || external_http_.globalAgent.maxSockets;
        }
        // This is `useProxy` again, but we need to check `proxyURl` directly for TypeScripts's flow analysis.
        if (proxyUrl && proxyUrl.hostname) {
            const agentOptions = {
                maxSockets,
                keepAlive: this._keepAlive,
                proxy: Object.assign(Object.assign({}, ((proxyUrl.username || proxyUrl.password) && {
                    proxyAuth: `${proxyUrl.username}:${proxyUrl.password}`
                })), { host: proxyUrl.hostname, port: proxyUrl.port })
            };
            let tunnelAgent;
            const overHttps = proxyUrl.protocol === 'https:';
            if (usingSsl) {
                tunnelAgent = overHttps ? tunnel.httpsOverHttps : tunnel.httpsOverHttp;
            }
            else {
                tunnelAgent = overHttps ? tunnel.httpOverHttps : tunnel.httpOverHttp;
            }
            agent = tunnelAgent(agentOptions);
            this._proxyAgent = agent;
        }
        // if tunneling agent isn't assigned create a new agent
        if (!agent) {
            const options = { keepAlive: this._keepAlive, maxSockets };
            agent = usingSsl ? new external_https_.Agent(options) : new external_http_.Agent(options);
            this._agent = agent;
        }
        if (usingSsl && this._ignoreSslError) {
            // we don't want to set NODE_TLS_REJECT_UNAUTHORIZED=0 since that will affect request for entire process
            // http.RequestOptions doesn't expose a way to modify RequestOptions.agent.options
            // we have to cast it to any and change it directly
            agent.options = Object.assign(agent.options || {}, {
                rejectUnauthorized: false
            });
        }
        return agent;
    }
    _getProxyAgentDispatcher(parsedUrl, proxyUrl) {
        let proxyAgent;
        if (this._keepAlive) {
            proxyAgent = this._proxyAgentDispatcher;
        }
        // if agent is already assigned use that agent.
        if (proxyAgent) {
            return proxyAgent;
        }
        const usingSsl = parsedUrl.protocol === 'https:';
        proxyAgent = new ProxyAgent(Object.assign({ uri: proxyUrl.href, pipelining: !this._keepAlive ? 0 : 1 }, ((proxyUrl.username || proxyUrl.password) && {
            token: `Basic ${Buffer.from(`${proxyUrl.username}:${proxyUrl.password}`).toString('base64')}`
        })));
        this._proxyAgentDispatcher = proxyAgent;
        if (usingSsl && this._ignoreSslError) {
            // we don't want to set NODE_TLS_REJECT_UNAUTHORIZED=0 since that will affect request for entire process
            // http.RequestOptions doesn't expose a way to modify RequestOptions.agent.options
            // we have to cast it to any and change it directly
            proxyAgent.options = Object.assign(proxyAgent.options.requestTls || {}, {
                rejectUnauthorized: false
            });
        }
        return proxyAgent;
    }
    _getUserAgentWithOrchestrationId(userAgent) {
        const baseUserAgent = userAgent || 'actions/http-client';
        const orchId = process.env['ACTIONS_ORCHESTRATION_ID'];
        if (orchId) {
            // Sanitize the orchestration ID to ensure it contains only valid characters
            // Valid characters: 0-9, a-z, _, -, .
            const sanitizedId = orchId.replace(/[^a-z0-9_.-]/gi, '_');
            return `${baseUserAgent} actions_orchestration_id/${sanitizedId}`;
        }
        return baseUserAgent;
    }
    _performExponentialBackoff(retryNumber) {
        return __awaiter(this, void 0, void 0, function* () {
            retryNumber = Math.min(ExponentialBackoffCeiling, retryNumber);
            const ms = ExponentialBackoffTimeSlice * Math.pow(2, retryNumber);
            return new Promise(resolve => setTimeout(() => resolve(), ms));
        });
    }
    _processResponse(res, options) {
        return __awaiter(this, void 0, void 0, function* () {
            return new Promise((resolve, reject) => __awaiter(this, void 0, void 0, function* () {
                const statusCode = res.message.statusCode || 0;
                const response = {
                    statusCode,
                    result: null,
                    headers: {}
                };
                // not found leads to null obj returned
                if (statusCode === HttpCodes.NotFound) {
                    resolve(response);
                }
                // get the result from the body
                function dateTimeDeserializer(key, value) {
                    if (typeof value === 'string') {
                        const a = new Date(value);
                        if (!isNaN(a.valueOf())) {
                            return a;
                        }
                    }
                    return value;
                }
                let obj;
                let contents;
                try {
                    contents = yield res.readBody();
                    if (contents && contents.length > 0) {
                        if (options && options.deserializeDates) {
                            obj = JSON.parse(contents, dateTimeDeserializer);
                        }
                        else {
                            obj = JSON.parse(contents);
                        }
                        response.result = obj;
                    }
                    response.headers = res.message.headers;
                }
                catch (err) {
                    // Invalid resource (contents not json);  leaving result obj null
                }
                // note that 3xx redirects are handled by the http layer.
                if (statusCode > 299) {
                    let msg;
                    // if exception/error in body, attempt to get better error
                    if (obj && obj.message) {
                        msg = obj.message;
                    }
                    else if (contents && contents.length > 0) {
                        // it may be the case that the exception is in the body message as string
                        msg = contents;
                    }
                    else {
                        msg = `Failed request: (${statusCode})`;
                    }
                    const err = new HttpClientError(msg, statusCode);
                    err.result = response.result;
                    reject(err);
                }
                else {
                    resolve(response);
                }
            }));
        });
    }
}
const lowercaseKeys = (obj) => Object.keys(obj).reduce((c, k) => ((c[k.toLowerCase()] = obj[k]), c), {});
//# sourceMappingURL=index.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/http-client/lib/auth.js
var auth_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
class BasicCredentialHandler {
    constructor(username, password) {
        this.username = username;
        this.password = password;
    }
    prepareRequest(options) {
        if (!options.headers) {
            throw Error('The request has no headers');
        }
        options.headers['Authorization'] = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    }
    // This handler cannot handle 401
    canHandleAuthentication() {
        return false;
    }
    handleAuthentication() {
        return auth_awaiter(this, void 0, void 0, function* () {
            throw new Error('not implemented');
        });
    }
}
class auth_BearerCredentialHandler {
    constructor(token) {
        this.token = token;
    }
    // currently implements pre-authorization
    // TODO: support preAuth = false where it hooks on 401
    prepareRequest(options) {
        if (!options.headers) {
            throw Error('The request has no headers');
        }
        options.headers['Authorization'] = `Bearer ${this.token}`;
    }
    // This handler cannot handle 401
    canHandleAuthentication() {
        return false;
    }
    handleAuthentication() {
        return auth_awaiter(this, void 0, void 0, function* () {
            throw new Error('not implemented');
        });
    }
}
class PersonalAccessTokenCredentialHandler {
    constructor(token) {
        this.token = token;
    }
    // currently implements pre-authorization
    // TODO: support preAuth = false where it hooks on 401
    prepareRequest(options) {
        if (!options.headers) {
            throw Error('The request has no headers');
        }
        options.headers['Authorization'] = `Basic ${Buffer.from(`PAT:${this.token}`).toString('base64')}`;
    }
    // This handler cannot handle 401
    canHandleAuthentication() {
        return false;
    }
    handleAuthentication() {
        return auth_awaiter(this, void 0, void 0, function* () {
            throw new Error('not implemented');
        });
    }
}
//# sourceMappingURL=auth.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/oidc-utils.js
var oidc_utils_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};



class oidc_utils_OidcClient {
    static createHttpClient(allowRetry = true, maxRetry = 10) {
        const requestOptions = {
            allowRetries: allowRetry,
            maxRetries: maxRetry
        };
        return new HttpClient('actions/oidc-client', [new BearerCredentialHandler(oidc_utils_OidcClient.getRequestToken())], requestOptions);
    }
    static getRequestToken() {
        const token = process.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
        if (!token) {
            throw new Error('Unable to get ACTIONS_ID_TOKEN_REQUEST_TOKEN env variable');
        }
        return token;
    }
    static getIDTokenUrl() {
        const runtimeUrl = process.env['ACTIONS_ID_TOKEN_REQUEST_URL'];
        if (!runtimeUrl) {
            throw new Error('Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable');
        }
        return runtimeUrl;
    }
    static getCall(id_token_url) {
        return oidc_utils_awaiter(this, void 0, void 0, function* () {
            var _a;
            const httpclient = oidc_utils_OidcClient.createHttpClient();
            const res = yield httpclient
                .getJson(id_token_url)
                .catch(error => {
                throw new Error(`Failed to get ID Token. \n 
        Error Code : ${error.statusCode}\n 
        Error Message: ${error.message}`);
            });
            const id_token = (_a = res.result) === null || _a === void 0 ? void 0 : _a.value;
            if (!id_token) {
                throw new Error('Response json body do not have ID Token field');
            }
            return id_token;
        });
    }
    static getIDToken(audience) {
        return oidc_utils_awaiter(this, void 0, void 0, function* () {
            try {
                // New ID Token is requested from action service
                let id_token_url = oidc_utils_OidcClient.getIDTokenUrl();
                if (audience) {
                    const encodedAudience = encodeURIComponent(audience);
                    id_token_url = `${id_token_url}&audience=${encodedAudience}`;
                }
                debug(`ID token url is ${id_token_url}`);
                const id_token = yield oidc_utils_OidcClient.getCall(id_token_url);
                setSecret(id_token);
                return id_token;
            }
            catch (error) {
                throw new Error(`Error message: ${error.message}`);
            }
        });
    }
}
//# sourceMappingURL=oidc-utils.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/summary.js
var summary_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


const { access, appendFile, writeFile } = external_fs_namespaceObject.promises;
const SUMMARY_ENV_VAR = 'GITHUB_STEP_SUMMARY';
const SUMMARY_DOCS_URL = 'https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions#adding-a-job-summary';
class Summary {
    constructor() {
        this._buffer = '';
    }
    /**
     * Finds the summary file path from the environment, rejects if env var is not found or file does not exist
     * Also checks r/w permissions.
     *
     * @returns step summary file path
     */
    filePath() {
        return summary_awaiter(this, void 0, void 0, function* () {
            if (this._filePath) {
                return this._filePath;
            }
            const pathFromEnv = process.env[SUMMARY_ENV_VAR];
            if (!pathFromEnv) {
                throw new Error(`Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`);
            }
            try {
                yield access(pathFromEnv, external_fs_namespaceObject.constants.R_OK | external_fs_namespaceObject.constants.W_OK);
            }
            catch (_a) {
                throw new Error(`Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`);
            }
            this._filePath = pathFromEnv;
            return this._filePath;
        });
    }
    /**
     * Wraps content in an HTML tag, adding any HTML attributes
     *
     * @param {string} tag HTML tag to wrap
     * @param {string | null} content content within the tag
     * @param {[attribute: string]: string} attrs key-value list of HTML attributes to add
     *
     * @returns {string} content wrapped in HTML element
     */
    wrap(tag, content, attrs = {}) {
        const htmlAttrs = Object.entries(attrs)
            .map(([key, value]) => ` ${key}="${value}"`)
            .join('');
        if (!content) {
            return `<${tag}${htmlAttrs}>`;
        }
        return `<${tag}${htmlAttrs}>${content}</${tag}>`;
    }
    /**
     * Writes text in the buffer to the summary buffer file and empties buffer. Will append by default.
     *
     * @param {SummaryWriteOptions} [options] (optional) options for write operation
     *
     * @returns {Promise<Summary>} summary instance
     */
    write(options) {
        return summary_awaiter(this, void 0, void 0, function* () {
            const overwrite = !!(options === null || options === void 0 ? void 0 : options.overwrite);
            const filePath = yield this.filePath();
            const writeFunc = overwrite ? writeFile : appendFile;
            yield writeFunc(filePath, this._buffer, { encoding: 'utf8' });
            return this.emptyBuffer();
        });
    }
    /**
     * Clears the summary buffer and wipes the summary file
     *
     * @returns {Summary} summary instance
     */
    clear() {
        return summary_awaiter(this, void 0, void 0, function* () {
            return this.emptyBuffer().write({ overwrite: true });
        });
    }
    /**
     * Returns the current summary buffer as a string
     *
     * @returns {string} string of summary buffer
     */
    stringify() {
        return this._buffer;
    }
    /**
     * If the summary buffer is empty
     *
     * @returns {boolen} true if the buffer is empty
     */
    isEmptyBuffer() {
        return this._buffer.length === 0;
    }
    /**
     * Resets the summary buffer without writing to summary file
     *
     * @returns {Summary} summary instance
     */
    emptyBuffer() {
        this._buffer = '';
        return this;
    }
    /**
     * Adds raw text to the summary buffer
     *
     * @param {string} text content to add
     * @param {boolean} [addEOL=false] (optional) append an EOL to the raw text (default: false)
     *
     * @returns {Summary} summary instance
     */
    addRaw(text, addEOL = false) {
        this._buffer += text;
        return addEOL ? this.addEOL() : this;
    }
    /**
     * Adds the operating system-specific end-of-line marker to the buffer
     *
     * @returns {Summary} summary instance
     */
    addEOL() {
        return this.addRaw(external_os_namespaceObject.EOL);
    }
    /**
     * Adds an HTML codeblock to the summary buffer
     *
     * @param {string} code content to render within fenced code block
     * @param {string} lang (optional) language to syntax highlight code
     *
     * @returns {Summary} summary instance
     */
    addCodeBlock(code, lang) {
        const attrs = Object.assign({}, (lang && { lang }));
        const element = this.wrap('pre', this.wrap('code', code), attrs);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML list to the summary buffer
     *
     * @param {string[]} items list of items to render
     * @param {boolean} [ordered=false] (optional) if the rendered list should be ordered or not (default: false)
     *
     * @returns {Summary} summary instance
     */
    addList(items, ordered = false) {
        const tag = ordered ? 'ol' : 'ul';
        const listItems = items.map(item => this.wrap('li', item)).join('');
        const element = this.wrap(tag, listItems);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML table to the summary buffer
     *
     * @param {SummaryTableCell[]} rows table rows
     *
     * @returns {Summary} summary instance
     */
    addTable(rows) {
        const tableBody = rows
            .map(row => {
            const cells = row
                .map(cell => {
                if (typeof cell === 'string') {
                    return this.wrap('td', cell);
                }
                const { header, data, colspan, rowspan } = cell;
                const tag = header ? 'th' : 'td';
                const attrs = Object.assign(Object.assign({}, (colspan && { colspan })), (rowspan && { rowspan }));
                return this.wrap(tag, data, attrs);
            })
                .join('');
            return this.wrap('tr', cells);
        })
            .join('');
        const element = this.wrap('table', tableBody);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds a collapsable HTML details element to the summary buffer
     *
     * @param {string} label text for the closed state
     * @param {string} content collapsable content
     *
     * @returns {Summary} summary instance
     */
    addDetails(label, content) {
        const element = this.wrap('details', this.wrap('summary', label) + content);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML image tag to the summary buffer
     *
     * @param {string} src path to the image you to embed
     * @param {string} alt text description of the image
     * @param {SummaryImageOptions} options (optional) addition image attributes
     *
     * @returns {Summary} summary instance
     */
    addImage(src, alt, options) {
        const { width, height } = options || {};
        const attrs = Object.assign(Object.assign({}, (width && { width })), (height && { height }));
        const element = this.wrap('img', null, Object.assign({ src, alt }, attrs));
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML section heading element
     *
     * @param {string} text heading text
     * @param {number | string} [level=1] (optional) the heading level, default: 1
     *
     * @returns {Summary} summary instance
     */
    addHeading(text, level) {
        const tag = `h${level}`;
        const allowedTag = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].includes(tag)
            ? tag
            : 'h1';
        const element = this.wrap(allowedTag, text);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML thematic break (<hr>) to the summary buffer
     *
     * @returns {Summary} summary instance
     */
    addSeparator() {
        const element = this.wrap('hr', null);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML line break (<br>) to the summary buffer
     *
     * @returns {Summary} summary instance
     */
    addBreak() {
        const element = this.wrap('br', null);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML blockquote to the summary buffer
     *
     * @param {string} text quote text
     * @param {string} cite (optional) citation url
     *
     * @returns {Summary} summary instance
     */
    addQuote(text, cite) {
        const attrs = Object.assign({}, (cite && { cite }));
        const element = this.wrap('blockquote', text, attrs);
        return this.addRaw(element).addEOL();
    }
    /**
     * Adds an HTML anchor tag to the summary buffer
     *
     * @param {string} text link text/content
     * @param {string} href hyperlink
     *
     * @returns {Summary} summary instance
     */
    addLink(text, href) {
        const element = this.wrap('a', text, { href });
        return this.addRaw(element).addEOL();
    }
}
const _summary = new Summary();
/**
 * @deprecated use `core.summary`
 */
const markdownSummary = (/* unused pure expression or super */ null && (_summary));
const summary = _summary;
//# sourceMappingURL=summary.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/path-utils.js

/**
 * toPosixPath converts the given path to the posix form. On Windows, \\ will be
 * replaced with /.
 *
 * @param pth. Path to transform.
 * @return string Posix path.
 */
function toPosixPath(pth) {
    return pth.replace(/[\\]/g, '/');
}
/**
 * toWin32Path converts the given path to the win32 form. On Linux, / will be
 * replaced with \\.
 *
 * @param pth. Path to transform.
 * @return string Win32 path.
 */
function toWin32Path(pth) {
    return pth.replace(/[/]/g, '\\');
}
/**
 * toPlatformPath converts the given path to a platform-specific path. It does
 * this by replacing instances of / and \ with the platform-specific path
 * separator.
 *
 * @param pth The path to platformize.
 * @return string The platform-specific path.
 */
function toPlatformPath(pth) {
    return pth.replace(/[/\\]/g, path.sep);
}
//# sourceMappingURL=path-utils.js.map
;// CONCATENATED MODULE: external "string_decoder"
const external_string_decoder_namespaceObject = require("string_decoder");
// EXTERNAL MODULE: external "events"
var external_events_ = __nccwpck_require__(434);
;// CONCATENATED MODULE: external "child_process"
const external_child_process_namespaceObject = require("child_process");
// EXTERNAL MODULE: external "assert"
var external_assert_ = __nccwpck_require__(613);
;// CONCATENATED MODULE: ./node_modules/@actions/io/lib/io-util.js
var io_util_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


const { chmod, copyFile, lstat, mkdir, open: io_util_open, readdir, rename, rm, rmdir, stat, symlink, unlink } = external_fs_namespaceObject.promises;
// export const {open} = 'fs'
const IS_WINDOWS = process.platform === 'win32';
/**
 * Custom implementation of readlink to ensure Windows junctions
 * maintain trailing backslash for backward compatibility with Node.js < 24
 *
 * In Node.js 20, Windows junctions (directory symlinks) always returned paths
 * with trailing backslashes. Node.js 24 removed this behavior, which breaks
 * code that relied on this format for path operations.
 *
 * This implementation restores the Node 20 behavior by adding a trailing
 * backslash to all junction results on Windows.
 */
function readlink(fsPath) {
    return io_util_awaiter(this, void 0, void 0, function* () {
        const result = yield fs.promises.readlink(fsPath);
        // On Windows, restore Node 20 behavior: add trailing backslash to all results
        // since junctions on Windows are always directory links
        if (IS_WINDOWS && !result.endsWith('\\')) {
            return `${result}\\`;
        }
        return result;
    });
}
// See https://github.com/nodejs/node/blob/d0153aee367422d0858105abec186da4dff0a0c5/deps/uv/include/uv/win.h#L691
const UV_FS_O_EXLOCK = 0x10000000;
const READONLY = external_fs_namespaceObject.constants.O_RDONLY;
function exists(fsPath) {
    return io_util_awaiter(this, void 0, void 0, function* () {
        try {
            yield stat(fsPath);
        }
        catch (err) {
            if (err.code === 'ENOENT') {
                return false;
            }
            throw err;
        }
        return true;
    });
}
function isDirectory(fsPath_1) {
    return io_util_awaiter(this, arguments, void 0, function* (fsPath, useStat = false) {
        const stats = useStat ? yield stat(fsPath) : yield lstat(fsPath);
        return stats.isDirectory();
    });
}
/**
 * On OSX/Linux, true if path starts with '/'. On Windows, true for paths like:
 * \, \hello, \\hello\share, C:, and C:\hello (and corresponding alternate separator cases).
 */
function isRooted(p) {
    p = normalizeSeparators(p);
    if (!p) {
        throw new Error('isRooted() parameter "p" cannot be empty');
    }
    if (IS_WINDOWS) {
        return (p.startsWith('\\') || /^[A-Z]:/i.test(p) // e.g. \ or \hello or \\hello
        ); // e.g. C: or C:\hello
    }
    return p.startsWith('/');
}
/**
 * Best effort attempt to determine whether a file exists and is executable.
 * @param filePath    file path to check
 * @param extensions  additional file extensions to try
 * @return if file exists and is executable, returns the file path. otherwise empty string.
 */
function tryGetExecutablePath(filePath, extensions) {
    return io_util_awaiter(this, void 0, void 0, function* () {
        let stats = undefined;
        try {
            // test file exists
            stats = yield stat(filePath);
        }
        catch (err) {
            if (err.code !== 'ENOENT') {
                // eslint-disable-next-line no-console
                console.log(`Unexpected error attempting to determine if executable file exists '${filePath}': ${err}`);
            }
        }
        if (stats && stats.isFile()) {
            if (IS_WINDOWS) {
                // on Windows, test for valid extension
                const upperExt = external_path_namespaceObject.extname(filePath).toUpperCase();
                if (extensions.some(validExt => validExt.toUpperCase() === upperExt)) {
                    return filePath;
                }
            }
            else {
                if (isUnixExecutable(stats)) {
                    return filePath;
                }
            }
        }
        // try each extension
        const originalFilePath = filePath;
        for (const extension of extensions) {
            filePath = originalFilePath + extension;
            stats = undefined;
            try {
                stats = yield stat(filePath);
            }
            catch (err) {
                if (err.code !== 'ENOENT') {
                    // eslint-disable-next-line no-console
                    console.log(`Unexpected error attempting to determine if executable file exists '${filePath}': ${err}`);
                }
            }
            if (stats && stats.isFile()) {
                if (IS_WINDOWS) {
                    // preserve the case of the actual file (since an extension was appended)
                    try {
                        const directory = external_path_namespaceObject.dirname(filePath);
                        const upperName = external_path_namespaceObject.basename(filePath).toUpperCase();
                        for (const actualName of yield readdir(directory)) {
                            if (upperName === actualName.toUpperCase()) {
                                filePath = external_path_namespaceObject.join(directory, actualName);
                                break;
                            }
                        }
                    }
                    catch (err) {
                        // eslint-disable-next-line no-console
                        console.log(`Unexpected error attempting to determine the actual case of the file '${filePath}': ${err}`);
                    }
                    return filePath;
                }
                else {
                    if (isUnixExecutable(stats)) {
                        return filePath;
                    }
                }
            }
        }
        return '';
    });
}
function normalizeSeparators(p) {
    p = p || '';
    if (IS_WINDOWS) {
        // convert slashes on Windows
        p = p.replace(/\//g, '\\');
        // remove redundant slashes
        return p.replace(/\\\\+/g, '\\');
    }
    // remove redundant slashes
    return p.replace(/\/\/+/g, '/');
}
// on Mac/Linux, test the execute bit
//     R   W  X  R  W X R W X
//   256 128 64 32 16 8 4 2 1
function isUnixExecutable(stats) {
    return ((stats.mode & 1) > 0 ||
        ((stats.mode & 8) > 0 &&
            process.getgid !== undefined &&
            stats.gid === process.getgid()) ||
        ((stats.mode & 64) > 0 &&
            process.getuid !== undefined &&
            stats.uid === process.getuid()));
}
// Get the path of cmd.exe in windows
function getCmdPath() {
    var _a;
    return (_a = process.env['COMSPEC']) !== null && _a !== void 0 ? _a : `cmd.exe`;
}
//# sourceMappingURL=io-util.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/io/lib/io.js
var io_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};



/**
 * Copies a file or folder.
 * Based off of shelljs - https://github.com/shelljs/shelljs/blob/9237f66c52e5daa40458f94f9565e18e8132f5a6/src/cp.js
 *
 * @param     source    source path
 * @param     dest      destination path
 * @param     options   optional. See CopyOptions.
 */
function cp(source_1, dest_1) {
    return io_awaiter(this, arguments, void 0, function* (source, dest, options = {}) {
        const { force, recursive, copySourceDirectory } = readCopyOptions(options);
        const destStat = (yield ioUtil.exists(dest)) ? yield ioUtil.stat(dest) : null;
        // Dest is an existing file, but not forcing
        if (destStat && destStat.isFile() && !force) {
            return;
        }
        // If dest is an existing directory, should copy inside.
        const newDest = destStat && destStat.isDirectory() && copySourceDirectory
            ? path.join(dest, path.basename(source))
            : dest;
        if (!(yield ioUtil.exists(source))) {
            throw new Error(`no such file or directory: ${source}`);
        }
        const sourceStat = yield ioUtil.stat(source);
        if (sourceStat.isDirectory()) {
            if (!recursive) {
                throw new Error(`Failed to copy. ${source} is a directory, but tried to copy without recursive flag.`);
            }
            else {
                yield cpDirRecursive(source, newDest, 0, force);
            }
        }
        else {
            if (path.relative(source, newDest) === '') {
                // a file cannot be copied to itself
                throw new Error(`'${newDest}' and '${source}' are the same file`);
            }
            yield io_copyFile(source, newDest, force);
        }
    });
}
/**
 * Moves a path.
 *
 * @param     source    source path
 * @param     dest      destination path
 * @param     options   optional. See MoveOptions.
 */
function mv(source_1, dest_1) {
    return io_awaiter(this, arguments, void 0, function* (source, dest, options = {}) {
        if (yield ioUtil.exists(dest)) {
            let destExists = true;
            if (yield ioUtil.isDirectory(dest)) {
                // If dest is directory copy src into dest
                dest = path.join(dest, path.basename(source));
                destExists = yield ioUtil.exists(dest);
            }
            if (destExists) {
                if (options.force == null || options.force) {
                    yield rmRF(dest);
                }
                else {
                    throw new Error('Destination already exists');
                }
            }
        }
        yield mkdirP(path.dirname(dest));
        yield ioUtil.rename(source, dest);
    });
}
/**
 * Remove a path recursively with force
 *
 * @param inputPath path to remove
 */
function rmRF(inputPath) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (ioUtil.IS_WINDOWS) {
            // Check for invalid characters
            // https://docs.microsoft.com/en-us/windows/win32/fileio/naming-a-file
            if (/[*"<>|]/.test(inputPath)) {
                throw new Error('File path must not contain `*`, `"`, `<`, `>` or `|` on Windows');
            }
        }
        try {
            // note if path does not exist, error is silent
            yield ioUtil.rm(inputPath, {
                force: true,
                maxRetries: 3,
                recursive: true,
                retryDelay: 300
            });
        }
        catch (err) {
            throw new Error(`File was unable to be removed ${err}`);
        }
    });
}
/**
 * Make a directory.  Creates the full path with folders in between
 * Will throw if it fails
 *
 * @param   fsPath        path to create
 * @returns Promise<void>
 */
function mkdirP(fsPath) {
    return io_awaiter(this, void 0, void 0, function* () {
        ok(fsPath, 'a path argument must be provided');
        yield ioUtil.mkdir(fsPath, { recursive: true });
    });
}
/**
 * Returns path of a tool had the tool actually been invoked.  Resolves via paths.
 * If you check and the tool does not exist, it will throw.
 *
 * @param     tool              name of the tool
 * @param     check             whether to check if tool exists
 * @returns   Promise<string>   path to tool
 */
function which(tool, check) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (!tool) {
            throw new Error("parameter 'tool' is required");
        }
        // recursive when check=true
        if (check) {
            const result = yield which(tool, false);
            if (!result) {
                if (IS_WINDOWS) {
                    throw new Error(`Unable to locate executable file: ${tool}. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable. Also verify the file has a valid extension for an executable file.`);
                }
                else {
                    throw new Error(`Unable to locate executable file: ${tool}. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable. Also check the file mode to verify the file is executable.`);
                }
            }
            return result;
        }
        const matches = yield findInPath(tool);
        if (matches && matches.length > 0) {
            return matches[0];
        }
        return '';
    });
}
/**
 * Returns a list of all occurrences of the given tool on the system path.
 *
 * @returns   Promise<string[]>  the paths of the tool
 */
function findInPath(tool) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (!tool) {
            throw new Error("parameter 'tool' is required");
        }
        // build the list of extensions to try
        const extensions = [];
        if (IS_WINDOWS && process.env['PATHEXT']) {
            for (const extension of process.env['PATHEXT'].split(external_path_namespaceObject.delimiter)) {
                if (extension) {
                    extensions.push(extension);
                }
            }
        }
        // if it's rooted, return it if exists. otherwise return empty.
        if (isRooted(tool)) {
            const filePath = yield tryGetExecutablePath(tool, extensions);
            if (filePath) {
                return [filePath];
            }
            return [];
        }
        // if any path separators, return empty
        if (tool.includes(external_path_namespaceObject.sep)) {
            return [];
        }
        // build the list of directories
        //
        // Note, technically "where" checks the current directory on Windows. From a toolkit perspective,
        // it feels like we should not do this. Checking the current directory seems like more of a use
        // case of a shell, and the which() function exposed by the toolkit should strive for consistency
        // across platforms.
        const directories = [];
        if (process.env.PATH) {
            for (const p of process.env.PATH.split(external_path_namespaceObject.delimiter)) {
                if (p) {
                    directories.push(p);
                }
            }
        }
        // find all matches
        const matches = [];
        for (const directory of directories) {
            const filePath = yield tryGetExecutablePath(external_path_namespaceObject.join(directory, tool), extensions);
            if (filePath) {
                matches.push(filePath);
            }
        }
        return matches;
    });
}
function readCopyOptions(options) {
    const force = options.force == null ? true : options.force;
    const recursive = Boolean(options.recursive);
    const copySourceDirectory = options.copySourceDirectory == null
        ? true
        : Boolean(options.copySourceDirectory);
    return { force, recursive, copySourceDirectory };
}
function cpDirRecursive(sourceDir, destDir, currentDepth, force) {
    return io_awaiter(this, void 0, void 0, function* () {
        // Ensure there is not a run away recursive copy
        if (currentDepth >= 255)
            return;
        currentDepth++;
        yield mkdirP(destDir);
        const files = yield ioUtil.readdir(sourceDir);
        for (const fileName of files) {
            const srcFile = `${sourceDir}/${fileName}`;
            const destFile = `${destDir}/${fileName}`;
            const srcFileStat = yield ioUtil.lstat(srcFile);
            if (srcFileStat.isDirectory()) {
                // Recurse
                yield cpDirRecursive(srcFile, destFile, currentDepth, force);
            }
            else {
                yield io_copyFile(srcFile, destFile, force);
            }
        }
        // Change the mode for the newly created directory
        yield ioUtil.chmod(destDir, (yield ioUtil.stat(sourceDir)).mode);
    });
}
// Buffered file copy
function io_copyFile(srcFile, destFile, force) {
    return io_awaiter(this, void 0, void 0, function* () {
        if ((yield ioUtil.lstat(srcFile)).isSymbolicLink()) {
            // unlink/re-link it
            try {
                yield ioUtil.lstat(destFile);
                yield ioUtil.unlink(destFile);
            }
            catch (e) {
                // Try to override file permission
                if (e.code === 'EPERM') {
                    yield ioUtil.chmod(destFile, '0666');
                    yield ioUtil.unlink(destFile);
                }
                // other errors = it doesn't exist, no work to do
            }
            // Copy over symlink
            const symlinkFull = yield ioUtil.readlink(srcFile);
            yield ioUtil.symlink(symlinkFull, destFile, ioUtil.IS_WINDOWS ? 'junction' : null);
        }
        else if (!(yield ioUtil.exists(destFile)) || force) {
            yield ioUtil.copyFile(srcFile, destFile);
        }
    });
}
//# sourceMappingURL=io.js.map
;// CONCATENATED MODULE: external "timers"
const external_timers_namespaceObject = require("timers");
;// CONCATENATED MODULE: ./node_modules/@actions/exec/lib/toolrunner.js
var toolrunner_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};







/* eslint-disable @typescript-eslint/unbound-method */
const toolrunner_IS_WINDOWS = process.platform === 'win32';
/*
 * Class for running command line tools. Handles quoting and arg parsing in a platform agnostic way.
 */
class ToolRunner extends external_events_.EventEmitter {
    constructor(toolPath, args, options) {
        super();
        if (!toolPath) {
            throw new Error("Parameter 'toolPath' cannot be null or empty.");
        }
        this.toolPath = toolPath;
        this.args = args || [];
        this.options = options || {};
    }
    _debug(message) {
        if (this.options.listeners && this.options.listeners.debug) {
            this.options.listeners.debug(message);
        }
    }
    _getCommandString(options, noPrefix) {
        const toolPath = this._getSpawnFileName();
        const args = this._getSpawnArgs(options);
        let cmd = noPrefix ? '' : '[command]'; // omit prefix when piped to a second tool
        if (toolrunner_IS_WINDOWS) {
            // Windows + cmd file
            if (this._isCmdFile()) {
                cmd += toolPath;
                for (const a of args) {
                    cmd += ` ${a}`;
                }
            }
            // Windows + verbatim
            else if (options.windowsVerbatimArguments) {
                cmd += `"${toolPath}"`;
                for (const a of args) {
                    cmd += ` ${a}`;
                }
            }
            // Windows (regular)
            else {
                cmd += this._windowsQuoteCmdArg(toolPath);
                for (const a of args) {
                    cmd += ` ${this._windowsQuoteCmdArg(a)}`;
                }
            }
        }
        else {
            // OSX/Linux - this can likely be improved with some form of quoting.
            // creating processes on Unix is fundamentally different than Windows.
            // on Unix, execvp() takes an arg array.
            cmd += toolPath;
            for (const a of args) {
                cmd += ` ${a}`;
            }
        }
        return cmd;
    }
    _processLineBuffer(data, strBuffer, onLine) {
        try {
            let s = strBuffer + data.toString();
            let n = s.indexOf(external_os_namespaceObject.EOL);
            while (n > -1) {
                const line = s.substring(0, n);
                onLine(line);
                // the rest of the string ...
                s = s.substring(n + external_os_namespaceObject.EOL.length);
                n = s.indexOf(external_os_namespaceObject.EOL);
            }
            return s;
        }
        catch (err) {
            // streaming lines to console is best effort.  Don't fail a build.
            this._debug(`error processing line. Failed with error ${err}`);
            return '';
        }
    }
    _getSpawnFileName() {
        if (toolrunner_IS_WINDOWS) {
            if (this._isCmdFile()) {
                return process.env['COMSPEC'] || 'cmd.exe';
            }
        }
        return this.toolPath;
    }
    _getSpawnArgs(options) {
        if (toolrunner_IS_WINDOWS) {
            if (this._isCmdFile()) {
                let argline = `/D /S /C "${this._windowsQuoteCmdArg(this.toolPath)}`;
                for (const a of this.args) {
                    argline += ' ';
                    argline += options.windowsVerbatimArguments
                        ? a
                        : this._windowsQuoteCmdArg(a);
                }
                argline += '"';
                return [argline];
            }
        }
        return this.args;
    }
    _endsWith(str, end) {
        return str.endsWith(end);
    }
    _isCmdFile() {
        const upperToolPath = this.toolPath.toUpperCase();
        return (this._endsWith(upperToolPath, '.CMD') ||
            this._endsWith(upperToolPath, '.BAT'));
    }
    _windowsQuoteCmdArg(arg) {
        // for .exe, apply the normal quoting rules that libuv applies
        if (!this._isCmdFile()) {
            return this._uvQuoteCmdArg(arg);
        }
        // otherwise apply quoting rules specific to the cmd.exe command line parser.
        // the libuv rules are generic and are not designed specifically for cmd.exe
        // command line parser.
        //
        // for a detailed description of the cmd.exe command line parser, refer to
        // http://stackoverflow.com/questions/4094699/how-does-the-windows-command-interpreter-cmd-exe-parse-scripts/7970912#7970912
        // need quotes for empty arg
        if (!arg) {
            return '""';
        }
        // determine whether the arg needs to be quoted
        const cmdSpecialChars = [
            ' ',
            '\t',
            '&',
            '(',
            ')',
            '[',
            ']',
            '{',
            '}',
            '^',
            '=',
            ';',
            '!',
            "'",
            '+',
            ',',
            '`',
            '~',
            '|',
            '<',
            '>',
            '"'
        ];
        let needsQuotes = false;
        for (const char of arg) {
            if (cmdSpecialChars.some(x => x === char)) {
                needsQuotes = true;
                break;
            }
        }
        // short-circuit if quotes not needed
        if (!needsQuotes) {
            return arg;
        }
        // the following quoting rules are very similar to the rules that by libuv applies.
        //
        // 1) wrap the string in quotes
        //
        // 2) double-up quotes - i.e. " => ""
        //
        //    this is different from the libuv quoting rules. libuv replaces " with \", which unfortunately
        //    doesn't work well with a cmd.exe command line.
        //
        //    note, replacing " with "" also works well if the arg is passed to a downstream .NET console app.
        //    for example, the command line:
        //          foo.exe "myarg:""my val"""
        //    is parsed by a .NET console app into an arg array:
        //          [ "myarg:\"my val\"" ]
        //    which is the same end result when applying libuv quoting rules. although the actual
        //    command line from libuv quoting rules would look like:
        //          foo.exe "myarg:\"my val\""
        //
        // 3) double-up slashes that precede a quote,
        //    e.g.  hello \world    => "hello \world"
        //          hello\"world    => "hello\\""world"
        //          hello\\"world   => "hello\\\\""world"
        //          hello world\    => "hello world\\"
        //
        //    technically this is not required for a cmd.exe command line, or the batch argument parser.
        //    the reasons for including this as a .cmd quoting rule are:
        //
        //    a) this is optimized for the scenario where the argument is passed from the .cmd file to an
        //       external program. many programs (e.g. .NET console apps) rely on the slash-doubling rule.
        //
        //    b) it's what we've been doing previously (by deferring to node default behavior) and we
        //       haven't heard any complaints about that aspect.
        //
        // note, a weakness of the quoting rules chosen here, is that % is not escaped. in fact, % cannot be
        // escaped when used on the command line directly - even though within a .cmd file % can be escaped
        // by using %%.
        //
        // the saving grace is, on the command line, %var% is left as-is if var is not defined. this contrasts
        // the line parsing rules within a .cmd file, where if var is not defined it is replaced with nothing.
        //
        // one option that was explored was replacing % with ^% - i.e. %var% => ^%var^%. this hack would
        // often work, since it is unlikely that var^ would exist, and the ^ character is removed when the
        // variable is used. the problem, however, is that ^ is not removed when %* is used to pass the args
        // to an external program.
        //
        // an unexplored potential solution for the % escaping problem, is to create a wrapper .cmd file.
        // % can be escaped within a .cmd file.
        let reverse = '"';
        let quoteHit = true;
        for (let i = arg.length; i > 0; i--) {
            // walk the string in reverse
            reverse += arg[i - 1];
            if (quoteHit && arg[i - 1] === '\\') {
                reverse += '\\'; // double the slash
            }
            else if (arg[i - 1] === '"') {
                quoteHit = true;
                reverse += '"'; // double the quote
            }
            else {
                quoteHit = false;
            }
        }
        reverse += '"';
        return reverse.split('').reverse().join('');
    }
    _uvQuoteCmdArg(arg) {
        // Tool runner wraps child_process.spawn() and needs to apply the same quoting as
        // Node in certain cases where the undocumented spawn option windowsVerbatimArguments
        // is used.
        //
        // Since this function is a port of quote_cmd_arg from Node 4.x (technically, lib UV,
        // see https://github.com/nodejs/node/blob/v4.x/deps/uv/src/win/process.c for details),
        // pasting copyright notice from Node within this function:
        //
        //      Copyright Joyent, Inc. and other Node contributors. All rights reserved.
        //
        //      Permission is hereby granted, free of charge, to any person obtaining a copy
        //      of this software and associated documentation files (the "Software"), to
        //      deal in the Software without restriction, including without limitation the
        //      rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
        //      sell copies of the Software, and to permit persons to whom the Software is
        //      furnished to do so, subject to the following conditions:
        //
        //      The above copyright notice and this permission notice shall be included in
        //      all copies or substantial portions of the Software.
        //
        //      THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
        //      IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
        //      FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
        //      AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
        //      LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
        //      FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
        //      IN THE SOFTWARE.
        if (!arg) {
            // Need double quotation for empty argument
            return '""';
        }
        if (!arg.includes(' ') && !arg.includes('\t') && !arg.includes('"')) {
            // No quotation needed
            return arg;
        }
        if (!arg.includes('"') && !arg.includes('\\')) {
            // No embedded double quotes or backslashes, so I can just wrap
            // quote marks around the whole thing.
            return `"${arg}"`;
        }
        // Expected input/output:
        //   input : hello"world
        //   output: "hello\"world"
        //   input : hello""world
        //   output: "hello\"\"world"
        //   input : hello\world
        //   output: hello\world
        //   input : hello\\world
        //   output: hello\\world
        //   input : hello\"world
        //   output: "hello\\\"world"
        //   input : hello\\"world
        //   output: "hello\\\\\"world"
        //   input : hello world\
        //   output: "hello world\\" - note the comment in libuv actually reads "hello world\"
        //                             but it appears the comment is wrong, it should be "hello world\\"
        let reverse = '"';
        let quoteHit = true;
        for (let i = arg.length; i > 0; i--) {
            // walk the string in reverse
            reverse += arg[i - 1];
            if (quoteHit && arg[i - 1] === '\\') {
                reverse += '\\';
            }
            else if (arg[i - 1] === '"') {
                quoteHit = true;
                reverse += '\\';
            }
            else {
                quoteHit = false;
            }
        }
        reverse += '"';
        return reverse.split('').reverse().join('');
    }
    _cloneExecOptions(options) {
        options = options || {};
        const result = {
            cwd: options.cwd || process.cwd(),
            env: options.env || process.env,
            silent: options.silent || false,
            windowsVerbatimArguments: options.windowsVerbatimArguments || false,
            failOnStdErr: options.failOnStdErr || false,
            ignoreReturnCode: options.ignoreReturnCode || false,
            delay: options.delay || 10000
        };
        result.outStream = options.outStream || process.stdout;
        result.errStream = options.errStream || process.stderr;
        return result;
    }
    _getSpawnOptions(options, toolPath) {
        options = options || {};
        const result = {};
        result.cwd = options.cwd;
        result.env = options.env;
        result['windowsVerbatimArguments'] =
            options.windowsVerbatimArguments || this._isCmdFile();
        if (options.windowsVerbatimArguments) {
            result.argv0 = `"${toolPath}"`;
        }
        return result;
    }
    /**
     * Exec a tool.
     * Output will be streamed to the live console.
     * Returns promise with return code
     *
     * @param     tool     path to tool to exec
     * @param     options  optional exec options.  See ExecOptions
     * @returns   number
     */
    exec() {
        return toolrunner_awaiter(this, void 0, void 0, function* () {
            // root the tool path if it is unrooted and contains relative pathing
            if (!isRooted(this.toolPath) &&
                (this.toolPath.includes('/') ||
                    (toolrunner_IS_WINDOWS && this.toolPath.includes('\\')))) {
                // prefer options.cwd if it is specified, however options.cwd may also need to be rooted
                this.toolPath = external_path_namespaceObject.resolve(process.cwd(), this.options.cwd || process.cwd(), this.toolPath);
            }
            // if the tool is only a file name, then resolve it from the PATH
            // otherwise verify it exists (add extension on Windows if necessary)
            this.toolPath = yield which(this.toolPath, true);
            return new Promise((resolve, reject) => toolrunner_awaiter(this, void 0, void 0, function* () {
                this._debug(`exec tool: ${this.toolPath}`);
                this._debug('arguments:');
                for (const arg of this.args) {
                    this._debug(`   ${arg}`);
                }
                const optionsNonNull = this._cloneExecOptions(this.options);
                if (!optionsNonNull.silent && optionsNonNull.outStream) {
                    optionsNonNull.outStream.write(this._getCommandString(optionsNonNull) + external_os_namespaceObject.EOL);
                }
                const state = new ExecState(optionsNonNull, this.toolPath);
                state.on('debug', (message) => {
                    this._debug(message);
                });
                if (this.options.cwd && !(yield exists(this.options.cwd))) {
                    return reject(new Error(`The cwd: ${this.options.cwd} does not exist!`));
                }
                const fileName = this._getSpawnFileName();
                const cp = external_child_process_namespaceObject.spawn(fileName, this._getSpawnArgs(optionsNonNull), this._getSpawnOptions(this.options, fileName));
                let stdbuffer = '';
                if (cp.stdout) {
                    cp.stdout.on('data', (data) => {
                        if (this.options.listeners && this.options.listeners.stdout) {
                            this.options.listeners.stdout(data);
                        }
                        if (!optionsNonNull.silent && optionsNonNull.outStream) {
                            optionsNonNull.outStream.write(data);
                        }
                        stdbuffer = this._processLineBuffer(data, stdbuffer, (line) => {
                            if (this.options.listeners && this.options.listeners.stdline) {
                                this.options.listeners.stdline(line);
                            }
                        });
                    });
                }
                let errbuffer = '';
                if (cp.stderr) {
                    cp.stderr.on('data', (data) => {
                        state.processStderr = true;
                        if (this.options.listeners && this.options.listeners.stderr) {
                            this.options.listeners.stderr(data);
                        }
                        if (!optionsNonNull.silent &&
                            optionsNonNull.errStream &&
                            optionsNonNull.outStream) {
                            const s = optionsNonNull.failOnStdErr
                                ? optionsNonNull.errStream
                                : optionsNonNull.outStream;
                            s.write(data);
                        }
                        errbuffer = this._processLineBuffer(data, errbuffer, (line) => {
                            if (this.options.listeners && this.options.listeners.errline) {
                                this.options.listeners.errline(line);
                            }
                        });
                    });
                }
                cp.on('error', (err) => {
                    state.processError = err.message;
                    state.processExited = true;
                    state.processClosed = true;
                    state.CheckComplete();
                });
                cp.on('exit', (code) => {
                    state.processExitCode = code;
                    state.processExited = true;
                    this._debug(`Exit code ${code} received from tool '${this.toolPath}'`);
                    state.CheckComplete();
                });
                cp.on('close', (code) => {
                    state.processExitCode = code;
                    state.processExited = true;
                    state.processClosed = true;
                    this._debug(`STDIO streams have closed for tool '${this.toolPath}'`);
                    state.CheckComplete();
                });
                state.on('done', (error, exitCode) => {
                    if (stdbuffer.length > 0) {
                        this.emit('stdline', stdbuffer);
                    }
                    if (errbuffer.length > 0) {
                        this.emit('errline', errbuffer);
                    }
                    cp.removeAllListeners();
                    if (error) {
                        reject(error);
                    }
                    else {
                        resolve(exitCode);
                    }
                });
                if (this.options.input) {
                    if (!cp.stdin) {
                        throw new Error('child process missing stdin');
                    }
                    cp.stdin.end(this.options.input);
                }
            }));
        });
    }
}
/**
 * Convert an arg string to an array of args. Handles escaping
 *
 * @param    argString   string of arguments
 * @returns  string[]    array of arguments
 */
function argStringToArray(argString) {
    const args = [];
    let inQuotes = false;
    let escaped = false;
    let arg = '';
    function append(c) {
        // we only escape double quotes.
        if (escaped && c !== '"') {
            arg += '\\';
        }
        arg += c;
        escaped = false;
    }
    for (let i = 0; i < argString.length; i++) {
        const c = argString.charAt(i);
        if (c === '"') {
            if (!escaped) {
                inQuotes = !inQuotes;
            }
            else {
                append(c);
            }
            continue;
        }
        if (c === '\\' && escaped) {
            append(c);
            continue;
        }
        if (c === '\\' && inQuotes) {
            escaped = true;
            continue;
        }
        if (c === ' ' && !inQuotes) {
            if (arg.length > 0) {
                args.push(arg);
                arg = '';
            }
            continue;
        }
        append(c);
    }
    if (arg.length > 0) {
        args.push(arg.trim());
    }
    return args;
}
class ExecState extends external_events_.EventEmitter {
    constructor(options, toolPath) {
        super();
        this.processClosed = false; // tracks whether the process has exited and stdio is closed
        this.processError = '';
        this.processExitCode = 0;
        this.processExited = false; // tracks whether the process has exited
        this.processStderr = false; // tracks whether stderr was written to
        this.delay = 10000; // 10 seconds
        this.done = false;
        this.timeout = null;
        if (!toolPath) {
            throw new Error('toolPath must not be empty');
        }
        this.options = options;
        this.toolPath = toolPath;
        if (options.delay) {
            this.delay = options.delay;
        }
    }
    CheckComplete() {
        if (this.done) {
            return;
        }
        if (this.processClosed) {
            this._setResult();
        }
        else if (this.processExited) {
            this.timeout = (0,external_timers_namespaceObject.setTimeout)(ExecState.HandleTimeout, this.delay, this);
        }
    }
    _debug(message) {
        this.emit('debug', message);
    }
    _setResult() {
        // determine whether there is an error
        let error;
        if (this.processExited) {
            if (this.processError) {
                error = new Error(`There was an error when attempting to execute the process '${this.toolPath}'. This may indicate the process failed to start. Error: ${this.processError}`);
            }
            else if (this.processExitCode !== 0 && !this.options.ignoreReturnCode) {
                error = new Error(`The process '${this.toolPath}' failed with exit code ${this.processExitCode}`);
            }
            else if (this.processStderr && this.options.failOnStdErr) {
                error = new Error(`The process '${this.toolPath}' failed because one or more lines were written to the STDERR stream`);
            }
        }
        // clear the timeout
        if (this.timeout) {
            clearTimeout(this.timeout);
            this.timeout = null;
        }
        this.done = true;
        this.emit('done', error, this.processExitCode);
    }
    static HandleTimeout(state) {
        if (state.done) {
            return;
        }
        if (!state.processClosed && state.processExited) {
            const message = `The STDIO streams did not close within ${state.delay / 1000} seconds of the exit event from process '${state.toolPath}'. This may indicate a child process inherited the STDIO streams and has not yet exited.`;
            state._debug(message);
        }
        state._setResult();
    }
}
//# sourceMappingURL=toolrunner.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/exec/lib/exec.js
var exec_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


/**
 * Exec a command.
 * Output will be streamed to the live console.
 * Returns promise with return code
 *
 * @param     commandLine        command to execute (can include additional args). Must be correctly escaped.
 * @param     args               optional arguments for tool. Escaping is handled by the lib.
 * @param     options            optional exec options.  See ExecOptions
 * @returns   Promise<number>    exit code
 */
function exec_exec(commandLine, args, options) {
    return exec_awaiter(this, void 0, void 0, function* () {
        const commandArgs = tr.argStringToArray(commandLine);
        if (commandArgs.length === 0) {
            throw new Error(`Parameter 'commandLine' cannot be null or empty.`);
        }
        // Path to tool to execute should be first arg
        const toolPath = commandArgs[0];
        args = commandArgs.slice(1).concat(args || []);
        const runner = new tr.ToolRunner(toolPath, args, options);
        return runner.exec();
    });
}
/**
 * Exec a command and get the output.
 * Output will be streamed to the live console.
 * Returns promise with the exit code and collected stdout and stderr
 *
 * @param     commandLine           command to execute (can include additional args). Must be correctly escaped.
 * @param     args                  optional arguments for tool. Escaping is handled by the lib.
 * @param     options               optional exec options.  See ExecOptions
 * @returns   Promise<ExecOutput>   exit code, stdout, and stderr
 */
function getExecOutput(commandLine, args, options) {
    return exec_awaiter(this, void 0, void 0, function* () {
        var _a, _b;
        let stdout = '';
        let stderr = '';
        //Using string decoder covers the case where a mult-byte character is split
        const stdoutDecoder = new StringDecoder('utf8');
        const stderrDecoder = new StringDecoder('utf8');
        const originalStdoutListener = (_a = options === null || options === void 0 ? void 0 : options.listeners) === null || _a === void 0 ? void 0 : _a.stdout;
        const originalStdErrListener = (_b = options === null || options === void 0 ? void 0 : options.listeners) === null || _b === void 0 ? void 0 : _b.stderr;
        const stdErrListener = (data) => {
            stderr += stderrDecoder.write(data);
            if (originalStdErrListener) {
                originalStdErrListener(data);
            }
        };
        const stdOutListener = (data) => {
            stdout += stdoutDecoder.write(data);
            if (originalStdoutListener) {
                originalStdoutListener(data);
            }
        };
        const listeners = Object.assign(Object.assign({}, options === null || options === void 0 ? void 0 : options.listeners), { stdout: stdOutListener, stderr: stdErrListener });
        const exitCode = yield exec_exec(commandLine, args, Object.assign(Object.assign({}, options), { listeners }));
        //flush any remaining characters
        stdout += stdoutDecoder.end();
        stderr += stderrDecoder.end();
        return {
            exitCode,
            stdout,
            stderr
        };
    });
}
//# sourceMappingURL=exec.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/platform.js
var platform_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


const getWindowsInfo = () => platform_awaiter(void 0, void 0, void 0, function* () {
    const { stdout: version } = yield exec.getExecOutput('powershell -command "(Get-CimInstance -ClassName Win32_OperatingSystem).Version"', undefined, {
        silent: true
    });
    const { stdout: name } = yield exec.getExecOutput('powershell -command "(Get-CimInstance -ClassName Win32_OperatingSystem).Caption"', undefined, {
        silent: true
    });
    return {
        name: name.trim(),
        version: version.trim()
    };
});
const getMacOsInfo = () => platform_awaiter(void 0, void 0, void 0, function* () {
    var _a, _b, _c, _d;
    const { stdout } = yield exec.getExecOutput('sw_vers', undefined, {
        silent: true
    });
    const version = (_b = (_a = stdout.match(/ProductVersion:\s*(.+)/)) === null || _a === void 0 ? void 0 : _a[1]) !== null && _b !== void 0 ? _b : '';
    const name = (_d = (_c = stdout.match(/ProductName:\s*(.+)/)) === null || _c === void 0 ? void 0 : _c[1]) !== null && _d !== void 0 ? _d : '';
    return {
        name,
        version
    };
});
const getLinuxInfo = () => platform_awaiter(void 0, void 0, void 0, function* () {
    const { stdout } = yield exec.getExecOutput('lsb_release', ['-i', '-r', '-s'], {
        silent: true
    });
    const [name, version] = stdout.trim().split('\n');
    return {
        name,
        version
    };
});
const platform = external_os_namespaceObject.platform();
const arch = external_os_namespaceObject.arch();
const isWindows = platform === 'win32';
const isMacOS = platform === 'darwin';
const isLinux = platform === 'linux';
function getDetails() {
    return platform_awaiter(this, void 0, void 0, function* () {
        return Object.assign(Object.assign({}, (yield (isWindows
            ? getWindowsInfo()
            : isMacOS
                ? getMacOsInfo()
                : getLinuxInfo()))), { platform,
            arch,
            isWindows,
            isMacOS,
            isLinux });
    });
}
//# sourceMappingURL=platform.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/core.js
var core_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};






/**
 * The code to exit an action
 */
var ExitCode;
(function (ExitCode) {
    /**
     * A code indicating that the action was successful
     */
    ExitCode[ExitCode["Success"] = 0] = "Success";
    /**
     * A code indicating that the action was a failure
     */
    ExitCode[ExitCode["Failure"] = 1] = "Failure";
})(ExitCode || (ExitCode = {}));
//-----------------------------------------------------------------------
// Variables
//-----------------------------------------------------------------------
/**
 * Sets env variable for this action and future actions in the job
 * @param name the name of the variable to set
 * @param val the value of the variable. Non-string values will be converted to a string via JSON.stringify
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function exportVariable(name, val) {
    const convertedVal = toCommandValue(val);
    process.env[name] = convertedVal;
    const filePath = process.env['GITHUB_ENV'] || '';
    if (filePath) {
        return issueFileCommand('ENV', prepareKeyValueMessage(name, val));
    }
    issueCommand('set-env', { name }, convertedVal);
}
/**
 * Registers a secret which will get masked from logs
 *
 * @param secret - Value of the secret to be masked
 * @remarks
 * This function instructs the Actions runner to mask the specified value in any
 * logs produced during the workflow run. Once registered, the secret value will
 * be replaced with asterisks (***) whenever it appears in console output, logs,
 * or error messages.
 *
 * This is useful for protecting sensitive information such as:
 * - API keys
 * - Access tokens
 * - Authentication credentials
 * - URL parameters containing signatures (SAS tokens)
 *
 * Note that masking only affects future logs; any previous appearances of the
 * secret in logs before calling this function will remain unmasked.
 *
 * @example
 * ```typescript
 * // Register an API token as a secret
 * const apiToken = "abc123xyz456";
 * setSecret(apiToken);
 *
 * // Now any logs containing this value will show *** instead
 * console.log(`Using token: ${apiToken}`); // Outputs: "Using token: ***"
 * ```
 */
function core_setSecret(secret) {
    command_issueCommand('add-mask', {}, secret);
}
/**
 * Prepends inputPath to the PATH (for this action and future actions)
 * @param inputPath
 */
function addPath(inputPath) {
    const filePath = process.env['GITHUB_PATH'] || '';
    if (filePath) {
        issueFileCommand('PATH', inputPath);
    }
    else {
        issueCommand('add-path', {}, inputPath);
    }
    process.env['PATH'] = `${inputPath}${path.delimiter}${process.env['PATH']}`;
}
/**
 * Gets the value of an input.
 * Unless trimWhitespace is set to false in InputOptions, the value is also trimmed.
 * Returns an empty string if the value is not defined.
 *
 * @param     name     name of the input to get
 * @param     options  optional. See InputOptions.
 * @returns   string
 */
function getInput(name, options) {
    const val = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '';
    if (options && options.required && !val) {
        throw new Error(`Input required and not supplied: ${name}`);
    }
    if (options && options.trimWhitespace === false) {
        return val;
    }
    return val.trim();
}
/**
 * Gets the values of an multiline input.  Each value is also trimmed.
 *
 * @param     name     name of the input to get
 * @param     options  optional. See InputOptions.
 * @returns   string[]
 *
 */
function getMultilineInput(name, options) {
    const inputs = getInput(name, options)
        .split('\n')
        .filter(x => x !== '');
    if (options && options.trimWhitespace === false) {
        return inputs;
    }
    return inputs.map(input => input.trim());
}
/**
 * Gets the input value of the boolean type in the YAML 1.2 "core schema" specification.
 * Support boolean input list: `true | True | TRUE | false | False | FALSE` .
 * The return value is also in boolean type.
 * ref: https://yaml.org/spec/1.2/spec.html#id2804923
 *
 * @param     name     name of the input to get
 * @param     options  optional. See InputOptions.
 * @returns   boolean
 */
function getBooleanInput(name, options) {
    const trueValue = ['true', 'True', 'TRUE'];
    const falseValue = ['false', 'False', 'FALSE'];
    const val = getInput(name, options);
    if (trueValue.includes(val))
        return true;
    if (falseValue.includes(val))
        return false;
    throw new TypeError(`Input does not meet YAML 1.2 "Core Schema" specification: ${name}\n` +
        `Support boolean input list: \`true | True | TRUE | false | False | FALSE\``);
}
/**
 * Sets the value of an output.
 *
 * @param     name     name of the output to set
 * @param     value    value to store. Non-string values will be converted to a string via JSON.stringify
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function setOutput(name, value) {
    const filePath = process.env['GITHUB_OUTPUT'] || '';
    if (filePath) {
        return file_command_issueFileCommand('OUTPUT', file_command_prepareKeyValueMessage(name, value));
    }
    process.stdout.write(external_os_namespaceObject.EOL);
    command_issueCommand('set-output', { name }, utils_toCommandValue(value));
}
/**
 * Enables or disables the echoing of commands into stdout for the rest of the step.
 * Echoing is disabled by default if ACTIONS_STEP_DEBUG is not set.
 *
 */
function setCommandEcho(enabled) {
    issue('echo', enabled ? 'on' : 'off');
}
//-----------------------------------------------------------------------
// Results
//-----------------------------------------------------------------------
/**
 * Sets the action status to failed.
 * When the action exits it will be with an exit code of 1
 * @param message add error issue message
 */
function setFailed(message) {
    process.exitCode = ExitCode.Failure;
    error(message);
}
//-----------------------------------------------------------------------
// Logging Commands
//-----------------------------------------------------------------------
/**
 * Gets whether Actions Step Debug is on or not
 */
function isDebug() {
    return process.env['RUNNER_DEBUG'] === '1';
}
/**
 * Writes debug message to user log
 * @param message debug message
 */
function core_debug(message) {
    command_issueCommand('debug', {}, message);
}
/**
 * Adds an error issue
 * @param message error issue message. Errors will be converted to string via toString()
 * @param properties optional properties to add to the annotation.
 */
function error(message, properties = {}) {
    command_issueCommand('error', utils_toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
/**
 * Adds a warning issue
 * @param message warning issue message. Errors will be converted to string via toString()
 * @param properties optional properties to add to the annotation.
 */
function core_warning(message, properties = {}) {
    command_issueCommand('warning', utils_toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
/**
 * Adds a notice issue
 * @param message notice issue message. Errors will be converted to string via toString()
 * @param properties optional properties to add to the annotation.
 */
function notice(message, properties = {}) {
    issueCommand('notice', toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
/**
 * Writes info to log with console.log.
 * @param message info message
 */
function info(message) {
    process.stdout.write(message + external_os_namespaceObject.EOL);
}
/**
 * Begin an output group.
 *
 * Output until the next `groupEnd` will be foldable in this group
 *
 * @param name The name of the output group
 */
function startGroup(name) {
    command_issue('group', name);
}
/**
 * End an output group.
 */
function endGroup() {
    command_issue('endgroup');
}
/**
 * Wrap an asynchronous function call in a group.
 *
 * Returns the same type as the function itself.
 *
 * @param name The name of the group
 * @param fn The function to wrap in the group
 */
function group(name, fn) {
    return core_awaiter(this, void 0, void 0, function* () {
        startGroup(name);
        let result;
        try {
            result = yield fn();
        }
        finally {
            endGroup();
        }
        return result;
    });
}
//-----------------------------------------------------------------------
// Wrapper action state
//-----------------------------------------------------------------------
/**
 * Saves state for current action, the state can only be retrieved by this action's post job execution.
 *
 * @param     name     name of the state to store
 * @param     value    value to store. Non-string values will be converted to a string via JSON.stringify
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function saveState(name, value) {
    const filePath = process.env['GITHUB_STATE'] || '';
    if (filePath) {
        return issueFileCommand('STATE', prepareKeyValueMessage(name, value));
    }
    issueCommand('save-state', { name }, toCommandValue(value));
}
/**
 * Gets the value of an state set by this action's main execution.
 *
 * @param     name     name of the state to get
 * @returns   string
 */
function getState(name) {
    return process.env[`STATE_${name}`] || '';
}
function getIDToken(aud) {
    return core_awaiter(this, void 0, void 0, function* () {
        return yield OidcClient.getIDToken(aud);
    });
}
/**
 * Summary exports
 */

/**
 * @deprecated use core.summary
 */

/**
 * Path exports
 */

/**
 * Platform utilities exports
 */

//# sourceMappingURL=core.js.map
;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = require("node:net");
;// CONCATENATED MODULE: ./src/proxy.ts
/**
 * Which proxy a request takes, decided the way curl and Go decide it rather than the way
 * @actions/http-client does: a value without a scheme means `http://` (the client ignores it),
 * and `no_proxy` also takes `*.domain` and CIDR ranges (the client does not).
 */

class InvalidProxy extends Error {
}
/**
 * Which proxy setting applies: the `proxy` input, else `HTTPS_PROXY`, else `https_proxy`. Upper
 * case first, as Go reads them: the tools that pull (docker, podman, skopeo) are Go. The route, the
 * mask and every message about the proxy use this one answer.
 */
function chooseProxy(input, env) {
    if (input.trim())
        return { source: 'input', value: input.trim() };
    for (const name of ['HTTPS_PROXY', 'https_proxy']) {
        const value = env[name]?.trim();
        if (value)
            return { source: name, value };
    }
    return { source: 'none', value: '' };
}
/** Reads the proxy from the `proxy` input, else from the environment, and `no_proxy` either way. */
function resolveProxySettings(input, env) {
    const { source, value } = chooseProxy(input, env);
    const noProxyRaw = env.NO_PROXY ?? env.no_proxy;
    const noProxySource = env.NO_PROXY !== undefined ? 'NO_PROXY' : env.no_proxy !== undefined ? 'no_proxy' : undefined;
    const noProxy = (noProxyRaw ?? '')
        .split(/[\s,]+/)
        .map((entry) => entry.trim().toLowerCase())
        .filter(Boolean);
    if (source === 'none')
        return { source, schemeAssumed: false, noProxy, noProxySource };
    const schemeAssumed = !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
    let url;
    try {
        url = new URL(schemeAssumed ? `http://${value}` : value);
    }
    catch {
        throw new InvalidProxy(`expected a URL such as http://proxy.example.com:3128`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new InvalidProxy(`the scheme ${url.protocol}// is not supported; use http:// or https://`);
    }
    if (!url.hostname)
        throw new InvalidProxy('the proxy URL has no host');
    try {
        decodeURIComponent(url.username);
        decodeURIComponent(url.password);
    }
    catch {
        throw new InvalidProxy('its user name or password is not percent-encoded correctly (a % must start %XX)');
    }
    return { url, source, schemeAssumed, noProxy, noProxySource };
}
/** `http://host:port` of the proxy, without its credentials: the only form that may be printed. */
function redactProxy(url) {
    const port = url.port ? `:${url.port}` : '';
    return `${url.protocol}//${url.hostname}${port}`;
}
function isLoopback(hostname) {
    const host = stripBrackets(hostname).toLowerCase();
    if ((0,external_node_net_namespaceObject.isIP)(host) === 4)
        return host.startsWith('127.');
    if ((0,external_node_net_namespaceObject.isIP)(host) === 6)
        return host === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host);
    return host === 'localhost' || host.endsWith('.localhost');
}
/** 169.254.0.0/16 and fe80::/10: cloud metadata services live there, and no registry does. */
function isLinkLocal(hostname) {
    const host = stripBrackets(hostname).toLowerCase();
    if ((0,external_node_net_namespaceObject.isIP)(host) === 4)
        return host.startsWith('169.254.');
    // URL parsing writes an IPv4-mapped address in hex (`::ffff:a9fe:a9fe`).
    if ((0,external_node_net_namespaceObject.isIP)(host) === 6)
        return /^fe[89ab][0-9a-f]:/.test(host) || /^::ffff:(169\.254\.|a9fe:)/.test(host);
    return false;
}
function stripBrackets(hostname) {
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
function routeFor(url, settings) {
    if (!settings.url)
        return { via: 'direct', reason: 'no proxy is configured' };
    if (isLoopback(url.hostname))
        return { via: 'direct', reason: 'loopback is never proxied' };
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    const entry = settings.noProxy.find((e) => noProxyMatches(e, url.hostname, port));
    if (entry !== undefined) {
        return { via: 'direct', reason: `${settings.noProxySource ?? 'no_proxy'} entry '${entry}'` };
    }
    const from = settings.source === 'input' ? 'the proxy input' : settings.source;
    return { via: 'proxy', reason: `proxy from ${from}` };
}
/** One `no_proxy` entry against a host: `*`, `host`, `.suffix`, `*.suffix`, `host:port`, IP, CIDR. */
function noProxyMatches(entry, hostname, port) {
    const host = stripBrackets(hostname).toLowerCase();
    if (entry === '*')
        return true;
    if (entry.includes('/'))
        return cidrContains(entry, host);
    if (entry.includes('%'))
        return false; // an IPv6 zone id names no host we could reach
    let pattern = entry;
    let entryPort;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(pattern);
    if (portMatch && !((0,external_node_net_namespaceObject.isIP)(pattern) === 6))
        [, pattern, entryPort] = portMatch;
    pattern = stripBrackets(pattern);
    if (entryPort !== undefined && entryPort !== port)
        return false;
    if (pattern.startsWith('*.'))
        pattern = pattern.slice(1);
    if (pattern.startsWith('.'))
        return host === pattern.slice(1) || host.endsWith(pattern);
    return host === pattern || ((0,external_node_net_namespaceObject.isIP)(host) === 0 && host.endsWith(`.${pattern}`));
}
function cidrContains(cidr, host) {
    const [base, bitsText] = cidr.split('/');
    if (base.includes('%') || host.includes('%'))
        return false;
    const bits = Number(bitsText);
    const family = (0,external_node_net_namespaceObject.isIP)(base);
    if (family === 0 || family !== (0,external_node_net_namespaceObject.isIP)(host) || !Number.isInteger(bits))
        return false;
    const a = ipToBigInt(base, family);
    const b = ipToBigInt(host, family);
    const width = family === 4 ? 32 : 128;
    if (bits < 0 || bits > width)
        return false;
    const shift = BigInt(width - bits);
    return a >> shift === b >> shift;
}
function ipToBigInt(ip, family) {
    if (family === 4) {
        return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
    }
    // Expand `::` and an embedded IPv4 tail into eight 16-bit groups.
    let text = ip;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        const n = ipToBigInt(v4[1], 4);
        text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const headGroups = head ? head.split(':') : [];
    const tailGroups = tail ? tail.split(':') : [];
    const missing = 8 - headGroups.length - tailGroups.length;
    const groups = [
        ...headGroups,
        ...Array(tail === undefined ? 0 : missing).fill('0'),
        ...tailGroups,
    ];
    return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

;// CONCATENATED MODULE: ./src/text.ts
/**
 * Text that goes into a line a person reads: a user's value quoted back in an error, and text a
 * server sent. Both are bounded, one line, free of control characters and of credentials.
 */
// Control characters, line and paragraph separators, zero-width and bidirectional controls.
const INVISIBLE = 
// eslint-disable-next-line no-control-regex
/[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]+/g;
/** One line: invisible characters as one space, runs of white space as one, at most `max` long. */
function oneLine(text, max = 300) {
    const line = text
        .slice(0, max * 4)
        .replace(INVISIBLE, ' ')
        .replace(/\s+/g, ' ')
        .trim();
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
/** Control characters shown as `\xNN`: a value quoted whole, on one line, with nothing hidden. */
function escapeControls(text) {
    return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
/**
 * A user's value quoted back in an error or warning: one line, short, control characters shown
 * as \xNN, and the userinfo of anything shaped like a URL with credentials blanked, since a value
 * in the wrong input may carry them.
 */
function quote(value, max = 80) {
    // Bounded before any pattern runs over it: inputs can be megabytes long.
    const head = value.slice(0, max * 4);
    const redacted = redactUserinfo(head);
    const shown = redacted.length > max || value.length > head.length ? `${redacted.slice(0, max)}…` : redacted;
    return escapeControls(shown);
}
/**
 * Blanks the userinfo of every URL-like word: `scheme://user:pass@host` and `user:pass@host`.
 * The password may hold any character but white space, `@` and `/` included, so the userinfo runs
 * to the word's last `@`: `https://u:se/cret@host` and `u:p@ss@host` both become `***@host`.
 */
function redactUserinfo(text) {
    if (!text.includes('@'))
        return text;
    return text.replace(/\S+/g, (word) => {
        const at = word.lastIndexOf('@');
        if (at < 0)
            return word;
        // What comes before the userinfo: up to a scheme's `://` (`proxy=http://`), or a quote or
        // bracket that belongs to the sentence.
        const prefix = /^(?:[^@]*?[a-z][a-z0-9+.-]*:\/\/|["'(<[]+)/i.exec(word)?.[0] ?? '';
        const userinfo = word.slice(prefix.length, at);
        // `name@host` (an e-mail address, a digest) carries no password; `user:secret@` does.
        if (!userinfo.includes(':'))
            return word;
        return `${prefix}***${word.slice(at)}`;
    });
}
/** The most of a server's text that reaches a report: enough for a sentence, not a page. */
const SERVER_TEXT_LIMIT = 300;
/**
 * The one gate between what a server sent and what the action writes. A server can quote the
 * request back (`access denied for authorization "Bearer eyJ…"`), so every secret the run knows,
 * in every form it may take in text, is cut out; control characters and line breaks go, and the
 * text is capped. Markdown and HTML are left for the writer to escape: this is about content.
 */
class Scrubber {
    secrets = new Set();
    /** Registers a secret: the value itself and its encodings (URL, base64) are cut from text. */
    add(secret) {
        for (const form of encodings(secret))
            if (form.length >= 3)
                this.secrets.add(form);
    }
    /** Text with every registered secret, in every form, replaced by `***`. */
    redact(text) {
        // Long secrets first, so a secret that contains another is cut whole.
        const secrets = [...this.secrets].sort((a, b) => b.length - a.length);
        let clean = text;
        for (const secret of secrets)
            clean = clean.split(secret).join('***');
        return clean;
    }
    /** Server text made safe to show: secrets replaced by `***`, one line, at most `max` characters. */
    serverText(text, max = SERVER_TEXT_LIMIT) {
        return oneLine(redactUserinfo(this.redact(text)), max);
    }
}
function encodings(secret) {
    const forms = [secret, secret.trim()];
    for (const value of [...forms]) {
        forms.push(encodeURIComponent(value), Buffer.from(value).toString('base64'));
        // base64 without its padding, as it appears inside longer base64 or URL-safe text.
        forms.push(Buffer.from(value).toString('base64').replace(/=+$/, ''));
        forms.push(Buffer.from(value).toString('base64url'));
    }
    return [...new Set(forms)];
}

;// CONCATENATED MODULE: ./src/reference.ts

const DOCKER_HUB = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', DOCKER_HUB]);
// distribution/reference's grammar, reduced to what a pull needs.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
class InvalidReference extends Error {
}
/** Checks `host[:port]`; returns the host in the form requests use (Docker Hub's aliases folded). */
function normalizeRegistry(value) {
    const match = /^(\[[^\]]*\]|[^:/]+)(?::(\d{1,5}))?$/.exec(value);
    if (!match)
        throw new InvalidReference('expected host[:port]');
    const [, host, port] = match;
    if (!(HOST.test(host) || IPV6.test(host)))
        throw new InvalidReference('expected host[:port]');
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        throw new InvalidReference('the port must be between 1 and 65535');
    }
    // A name the URL parser reads otherwise (1.2.3.4.5, a.0x10, 256.1.1.1) cannot be requested.
    let url;
    try {
        url = new URL(`https://${value}/`);
    }
    catch {
        // reported below
    }
    if (url?.hostname !== host.toLowerCase())
        throw new InvalidReference('expected host[:port]');
    const lower = value.toLowerCase();
    return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}
function isDockerHub(registry) {
    return registry === DOCKER_HUB;
}
function parseImageRef(input, defaultRegistry) {
    let rest = input;
    let digest;
    const at = rest.indexOf('@');
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) {
            throw new InvalidReference(`the digest '${quote(digest, 40)}' is not sha256:<64 hex digits>`);
        }
    }
    let registry = DOCKER_HUB_ALIASES.has(defaultRegistry) ? DOCKER_HUB : defaultRegistry;
    const slash = rest.indexOf('/');
    if (slash >= 0) {
        const first = rest.slice(0, slash);
        if (first.includes('.') || first.includes(':') || first === 'localhost') {
            registry = normalizeRegistry(first);
            rest = rest.slice(slash + 1);
        }
    }
    let tag;
    const colon = rest.lastIndexOf(':');
    if (colon >= 0 && !rest.slice(colon).includes('/')) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG.test(tag))
            throw new InvalidReference(`the tag '${quote(tag, 40)}' is not a valid tag (at most 128 letters, digits, _ . -)`);
    }
    let repository = rest;
    if (repository === '')
        throw new InvalidReference('the repository name is empty');
    const components = repository.split('/');
    for (const component of components) {
        if (!COMPONENT.test(component)) {
            throw new InvalidReference(`'${quote(component, 40) || '(empty)'}' is not a valid repository path component (lower-case letters, digits and . _ - separators)`);
        }
    }
    if (isDockerHub(registry) && components.length === 1)
        repository = `library/${repository}`;
    if (repository.length > 255)
        throw new InvalidReference('the repository name is over 255 characters');
    if (!tag && !digest)
        tag = 'latest';
    return { input, registry, repository, tag, digest, reference: digest ?? tag };
}
/** `host/repo:tag@digest`, the canonical name shown in the report. */
function formatImageRef(ref) {
    return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = require("node:fs");
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = require("node:os");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = require("node:path");
;// CONCATENATED MODULE: ./src/authfile.ts
/**
 * The files pullers read credentials from: Docker's `config.json`, the containers `auth.json`
 * (podman, buildah, skopeo) and OpenShift pull secrets. All three are
 * `{"auths": {"<key>": {"auth": base64("user:password"), "identitytoken": …}}}`, with optional
 * `credHelpers` (a helper per registry) and `credsStore` (one helper for all). Keys may be `host`,
 * `host:port`, a URL (`https://index.docker.io/v1/`, Docker Hub's legacy key) or a repository
 * scope (`host/namespace[/repo]`, most specific first).
 */
/** Larger than any real auth file (a pull secret with dozens of registries is a few KiB). */
const AUTH_FILE_LIMIT = 1024 * 1024;
/** Docker Hub's names, as keys use them: folded into one. */
const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_KEY = 'docker.io';
class AuthFileError extends Error {
}
/**
 * Reads an auth file's JSON. Every secret it holds goes to `onSecret` as soon as the text is
 * parsed, before anything is checked, so that no later message can carry one unmasked. Errors
 * say what is wrong, never what the file holds.
 */
function parseAuthFile(text, path, onSecret) {
    let json;
    try {
        json = JSON.parse(text);
    }
    catch {
        throw new AuthFileError('it is not JSON');
    }
    for (const secret of secretsIn(json))
        onSecret(secret);
    if (typeof json !== 'object' || json === null || Array.isArray(json))
        throw new AuthFileError('it is not a JSON object');
    const record = json;
    const data = { path, entries: new Map(), credHelpers: new Map() };
    if (record.auths !== undefined) {
        if (typeof record.auths !== 'object' || record.auths === null || Array.isArray(record.auths))
            throw new AuthFileError('its "auths" is not an object');
        for (const [key, value] of Object.entries(record.auths)) {
            const entry = readEntry(key, value);
            data.entries.set(normalizeAuthKey(key), entry);
        }
    }
    if (record.credHelpers !== undefined) {
        if (typeof record.credHelpers !== 'object' || record.credHelpers === null)
            throw new AuthFileError('its "credHelpers" is not an object');
        for (const [key, value] of Object.entries(record.credHelpers)) {
            if (typeof value !== 'string' || !HELPER_NAME.test(value))
                throw new AuthFileError(`its "credHelpers" entry for ${shownKey(key)} is not a helper name`);
            data.credHelpers.set(normalizeAuthKey(key), value);
        }
    }
    if (record.credsStore !== undefined && record.credsStore !== '') {
        if (typeof record.credsStore !== 'string' || !HELPER_NAME.test(record.credsStore))
            throw new AuthFileError('its "credsStore" is not a helper name');
        data.credsStore = record.credsStore;
    }
    return data;
}
/** A helper is a program `docker-credential-<name>`: a name, never a path. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
function readEntry(key, value) {
    const where = `its entry for ${shownKey(key)}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new AuthFileError(`${where} is not an object`);
    const record = value;
    const entry = { key };
    if (record.auth !== undefined && record.auth !== '') {
        if (typeof record.auth !== 'string')
            throw new AuthFileError(`${where} has an "auth" that is not a string`);
        const decoded = decodeAuth(record.auth);
        if (!decoded)
            throw new AuthFileError(`${where} has an "auth" that is not base64 of user:password`);
        Object.assign(entry, decoded);
    }
    if (record.identitytoken !== undefined && record.identitytoken !== '') {
        if (typeof record.identitytoken !== 'string')
            throw new AuthFileError(`${where} has an "identitytoken" that is not a string`);
        entry.identityToken = record.identitytoken;
    }
    return entry;
}
function decodeAuth(auth) {
    const text = auth.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1)
        return undefined;
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // `user:` with an empty password is how docker login writes an entry whose secret is the
    // identitytoken beside it; an empty user name is what docker refuses.
    if (colon <= 0)
        return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
/** Every credential-looking value in a parsed file, whatever its shape: for the mask. */
function secretsIn(json) {
    const out = [];
    const auths = json?.auths;
    if (typeof auths !== 'object' || auths === null)
        return out;
    for (const value of Object.values(auths)) {
        if (typeof value !== 'object' || value === null)
            continue;
        const record = value;
        for (const field of ['auth', 'identitytoken', 'password', 'registrytoken']) {
            const v = record[field];
            if (typeof v !== 'string' || !v.trim())
                continue;
            out.push(v);
            if (field === 'auth') {
                const decoded = Buffer.from(v.trim(), 'base64').toString('utf8');
                const colon = decoded.indexOf(':');
                if (colon >= 0 && decoded.length > colon + 1)
                    out.push(decoded.slice(colon + 1));
            }
        }
    }
    return out;
}
/** A key as an error may show it: a host name, never anything else it might carry. */
function shownKey(key) {
    const normal = normalizeAuthKey(key);
    return /^[A-Za-z0-9.:[\]/_-]{1,200}$/.test(normal) ? normal : 'a key';
}
/**
 * A key as lookups compare it: no scheme, no trailing slash, a URL key reduced to its host (the
 * legacy `https://index.docker.io/v1/`), the host in lower case, Docker Hub as `docker.io`.
 */
function normalizeAuthKey(key) {
    let text = key.trim();
    const hadScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
    text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    if (hadScheme)
        text = text.split('/')[0];
    text = text.replace(/\/+$/, '');
    const slash = text.indexOf('/');
    const host = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
    const path = slash < 0 ? '' : text.slice(slash);
    return `${DOCKER_HUB_KEYS.has(host) ? DOCKER_HUB_KEY : host}${path}`;
}
/**
 * The credentials a puller would use for `repository` on `registry`, from files read in order
 * (the first that has something wins, as containers/image reads them): a helper named for the
 * host, then the most specific `auths` key (`host/ns/repo`, `host/ns`, `host`), then `credsStore`.
 */
function lookupAuth(files, registry, repository) {
    const host = normalizeAuthKey(registry);
    const scopes = [host];
    if (repository) {
        const parts = repository.split('/');
        for (let n = 1; n <= parts.length; n++)
            scopes.unshift(`${host}/${parts.slice(0, n).join('/')}`);
    }
    for (const file of files) {
        const helper = file.credHelpers.get(host);
        if (helper)
            return { kind: 'helper', file: file.path, helper, server: serverFor(registry) };
        for (const scope of scopes) {
            const entry = file.entries.get(scope);
            if (entry && (entry.password !== undefined || entry.identityToken !== undefined))
                return { kind: 'entry', file: file.path, key: entry.key, entry };
        }
        if (file.credsStore)
            return {
                kind: 'helper',
                file: file.path,
                helper: file.credsStore,
                server: serverFor(registry),
            };
    }
    return undefined;
}
/** The server name a credential helper is asked for, as docker asks it. */
function serverFor(registry) {
    return normalizeAuthKey(registry) === DOCKER_HUB_KEY ? 'https://index.docker.io/v1/' : registry;
}
/**
 * The registries a file names (hosts of its keys and helpers), in the order it writes them,
 * Docker Hub as the host its API answers on.
 */
function registriesIn(file) {
    const hosts = [];
    for (const key of [...file.entries.keys(), ...file.credHelpers.keys()]) {
        const host = key.split('/')[0];
        const registry = host === DOCKER_HUB_KEY ? 'registry-1.docker.io' : host;
        if (!hosts.includes(registry))
            hosts.push(registry);
    }
    return hosts;
}

;// CONCATENATED MODULE: ./src/auth-sources.ts
/**
 * Where the `auth-file` input points: a path, or the files an engine reads. docker reads
 * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. podman, buildah and skopeo read
 * `$REGISTRY_AUTH_FILE` alone when it is set, else `$XDG_RUNTIME_DIR/containers/auth.json`, then
 * `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/…`), then Docker's file, the first that has
 * an entry winning. Missing files of an engine are skipped (that engine has no login there);
 * a path given by hand must exist.
 */




class AuthSourceError extends Error {
}
/** The paths an engine reads, in order. */
function enginePaths(engine, env) {
    const home = env.HOME || (0,external_node_os_namespaceObject.homedir)();
    const docker = (0,external_node_path_namespaceObject.join)(env.DOCKER_CONFIG || (0,external_node_path_namespaceObject.join)(home, '.docker'), 'config.json');
    if (engine === 'docker')
        return [docker];
    if (env.REGISTRY_AUTH_FILE)
        return [env.REGISTRY_AUTH_FILE];
    const paths = [];
    if (env.XDG_RUNTIME_DIR)
        paths.push((0,external_node_path_namespaceObject.join)(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
    paths.push((0,external_node_path_namespaceObject.join)(env.XDG_CONFIG_HOME || (0,external_node_path_namespaceObject.join)(home, '.config'), 'containers', 'auth.json'));
    paths.push(docker);
    return paths;
}
/** Reads the files `auth-file` names; every secret goes to `onSecret` as it is read. */
function readAuthFiles(value, env, onSecret) {
    const engine = value === 'docker' || value === 'podman' ? value : undefined;
    const searched = engine ? enginePaths(engine, env) : [value];
    const files = [];
    for (const path of searched) {
        const file = readOne(path, !engine, onSecret);
        if (file)
            files.push(file);
    }
    return { engine: engine ?? 'path', files, searched };
}
function readOne(path, mustExist, onSecret) {
    let size;
    try {
        const stat = (0,external_node_fs_namespaceObject.statSync)(path);
        if (!stat.isFile())
            throw new AuthSourceError(`${path} is not a file`);
        size = stat.size;
    }
    catch (err) {
        if (err instanceof AuthSourceError)
            throw err;
        const code = err.code;
        if (code === 'ENOENT' && !mustExist)
            return undefined;
        throw new AuthSourceError(code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code ?? 'error'})`);
    }
    if (size > AUTH_FILE_LIMIT)
        throw new AuthSourceError(`${path} is over 1 MiB, which no auth file is`);
    let text;
    try {
        text = (0,external_node_fs_namespaceObject.readFileSync)(path, 'utf8');
    }
    catch (err) {
        throw new AuthSourceError(`${path} cannot be read (${err.code ?? 'error'})`);
    }
    try {
        return parseAuthFile(text, path, onSecret);
    }
    catch (err) {
        if (err instanceof AuthFileError)
            throw new AuthSourceError(`${path}: ${err.message}`);
        throw err;
    }
}
/** Every registry the files name, first file first. */
function registriesOf(auth) {
    const all = [];
    for (const file of auth.files)
        for (const registry of registriesIn(file))
            if (!all.includes(registry))
                all.push(registry);
    return all;
}
/**
 * The bug users hunt for: one engine logged in and the other, which pulls, did not. For each
 * registry, the credentials docker would use and those podman would use, compared; where they
 * differ, a warning naming both files. Secrets are compared, never shown.
 */
function engineMismatches(engine, env, registries, mine, onSecret) {
    const other = engine === 'docker' ? 'podman' : 'docker';
    let theirs;
    try {
        // Only compared, but read all the same: its secrets are masked like any other.
        theirs = readAuthFiles(other, env, onSecret);
    }
    catch {
        // The other engine's files are only compared; one that cannot be read is not this run's problem.
        return [];
    }
    const warnings = [];
    for (const { registry, repository } of registries) {
        const a = lookupAuth(mine.files, registry, repository);
        const b = lookupAuth(theirs.files, registry, repository);
        if (sameCredentials(a, b))
            continue;
        const where = (files, found) => found
            ? found.kind === 'entry'
                ? `an entry (${found.key}) in ${found.file}`
                : `the credential helper docker-credential-${found.helper} (${found.file})`
            : `no entry in ${files.searched.join(' or ')}`;
        warnings.push(`${registry}: ${engine} has ${where(mine, a)}, but ${other} has ${where(theirs, b)}. A step that pulls with ${other} (or a tool that reads its files) will not present the credentials checked here: log in with the engine that pulls.`);
    }
    return warnings;
}
function sameCredentials(a, b) {
    if (!a || !b)
        return !a && !b;
    if (a.kind === 'helper' || b.kind === 'helper')
        return a.kind === b.kind && a.kind === 'helper' && b.kind === 'helper' && a.helper === b.helper;
    return (a.entry.username === b.entry.username &&
        a.entry.password === b.entry.password &&
        a.entry.identityToken === b.entry.identityToken);
}

;// CONCATENATED MODULE: ./src/platform.ts
class InvalidPlatform extends Error {
}
const ARCH_ALIASES = {
    x86_64: 'amd64',
    'x86-64': 'amd64',
    amd64: 'amd64',
    aarch64: 'arm64',
    arm64: 'arm64',
    armhf: 'arm',
    armel: 'arm',
    arm: 'arm',
    i386: '386',
    i686: '386',
    '386': '386',
};
/** The variant a name implies when none is written (containerd's defaults). */
const DEFAULT_VARIANT = { arm64: 'v8', arm: 'v7' };
const IMPLIED_VARIANT = { armhf: 'v7', armel: 'v6' };
/** The canonical form: lower case, aliases folded, the default variant filled in. */
function normalizePlatform(p) {
    const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
    const rawArch = p.architecture.toLowerCase();
    const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
    let variant = p.variant?.toLowerCase() || IMPLIED_VARIANT[rawArch] || DEFAULT_VARIANT[architecture];
    // amd64's v1 is plain amd64; arm64's 8 is v8.
    if (architecture === 'amd64' && variant === 'v1')
        variant = undefined;
    if (architecture === 'arm64' && variant === '8')
        variant = 'v8';
    return variant ? { os, architecture, variant } : { os, architecture };
}
/** `os/arch[/variant]` as written. */
function formatPlatform(p) {
    return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
/** Reads `os/arch[/variant]`; throws InvalidPlatform. */
function parsePlatform(text) {
    const parts = text.trim().split('/');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
        throw new InvalidPlatform('expected os/architecture[/variant], e.g. linux/amd64');
    }
    const [os, architecture, variant] = parts;
    return normalizePlatform({ os, architecture, variant });
}
/**
 * Whether an image for `candidate` runs on `wanted`, as containerd's matcher for one platform
 * decides: the same OS and architecture, and a variant the wanted one can run (an arm/v7 machine
 * runs arm/v6 and arm/v5; an amd64/v3 machine runs v2 and plain amd64).
 */
function platformMatches(wanted, candidate) {
    const w = normalizePlatform(wanted);
    const c = normalizePlatform(candidate);
    if (w.os !== c.os || w.architecture !== c.architecture)
        return false;
    if (w.variant === c.variant)
        return true;
    const rank = (v) => Number(/^v(\d+)$/.exec(v ?? 'v1')?.[1] ?? NaN);
    if (w.architecture === 'arm' || w.architecture === 'amd64') {
        return rank(c.variant) <= rank(w.variant);
    }
    return false;
}
/** GitHub's RUNNER_ARCH values (X64, ARM64, ARM, X86) as platform architectures. */
const RUNNER_ARCH = {
    X64: { architecture: 'amd64' },
    ARM64: { architecture: 'arm64', variant: 'v8' },
    ARM: { architecture: 'arm', variant: 'v7' },
    X86: { architecture: '386' },
};
/** Node's process.arch values, for a run outside a GitHub runner. */
const NODE_ARCH = {
    x64: { architecture: 'amd64' },
    arm64: { architecture: 'arm64', variant: 'v8' },
    arm: { architecture: 'arm', variant: 'v7' },
    ia32: { architecture: '386' },
    ppc64: { architecture: 'ppc64le' },
    s390x: { architecture: 's390x' },
    riscv64: { architecture: 'riscv64' },
};
/**
 * The platform the machine that pulls next will ask for: the runner's (RUNNER_OS, RUNNER_ARCH),
 * else this process's. Containers on Linux and macOS runners are Linux containers; Windows
 * runners pull Windows images.
 */
function hostPlatform(env, node = process) {
    const runnerArch = env.RUNNER_ARCH ? RUNNER_ARCH[env.RUNNER_ARCH.toUpperCase()] : undefined;
    if (runnerArch) {
        const os = env.RUNNER_OS?.toLowerCase() === 'windows' ? 'windows' : 'linux';
        return {
            platform: { os, ...runnerArch },
            source: 'the runner (RUNNER_OS and RUNNER_ARCH)',
        };
    }
    const arch = NODE_ARCH[node.arch] ?? { architecture: node.arch };
    const os = node.platform === 'win32' ? 'windows' : 'linux';
    return { platform: { os, ...arch }, source: 'this machine' };
}

;// CONCATENATED MODULE: ./src/inputs.ts
/**
 * The edge where the step's inputs become typed values. Nothing else reads them. Every error
 * names the input and the form it expects, and never repeats a secret.
 */





class InputError extends Error {
    input;
    constructor(input, message) {
        super(message);
        this.input = input;
        this.name = 'InputError';
    }
}
const MAX_IMAGES = 1000;
const RED_HAT_REGISTRIES = /(^|\.)redhat\.(io|com)$/;
/** The longest value each input may hold: far above any real one, far below a pasted file. */
const MAX_LENGTH = {
    username: 1024,
    password: 16384,
    registry: 255,
    images: 1024 * 1024,
    'auth-url': 2048,
    proxy: 2048,
    timeout: 32,
    retries: 32,
    'fail-on-error': 32,
    summary: 32,
    platform: 1024,
    layers: 32,
    'auth-file': 4096,
};
/**
 * Parses every input. `onSecret` receives each credential an auth file holds, the moment it is
 * read, before anything about the file is judged.
 */
function parseInputs(readRaw, env, onSecret = () => { }) {
    const read = (name) => {
        const value = readRaw(name);
        const max = MAX_LENGTH[name];
        if (max !== undefined && value.length > max) {
            throw new InputError(name, `Invalid ${name}: it is ${value.length} characters long; at most ${max}.`);
        }
        return value;
    };
    const warnings = [];
    const rawUsername = read('username');
    const rawPassword = read('password');
    const username = credential('username', rawUsername, warnings);
    const password = credential('password', rawPassword, warnings);
    const registryText = read('registry').trim() || 'registry.redhat.io';
    let registry;
    try {
        registry = normalizeRegistry(registryText);
    }
    catch {
        throw new InputError('registry', `Invalid registry '${quote(registryText)}'. Expected host[:port] without a scheme or path, e.g. registry.redhat.io or quay.io.`);
    }
    if (username &&
        RED_HAT_REGISTRIES.test(registry.replace(/:\d+$/, '')) &&
        !username.includes('|')) {
        if (/^\d{5,}/.test(username) || (password.startsWith('eyJ') && password.length > 200)) {
            warnings.push("The username looks like a Red Hat Registry Service Account's, but has no '|': a service account name is written '12345678|name', with the '|'.");
        }
    }
    if (username.includes(':')) {
        throw new InputError('username', "Invalid username: it contains ':', which HTTP Basic authentication cannot carry in a user name.");
    }
    const images = parseImages(read('images'), registry);
    const authUrl = parseAuthUrl(read('auth-url').trim());
    let proxy;
    try {
        proxy = resolveProxySettings(read('proxy'), env);
    }
    catch (err) {
        if (!(err instanceof InvalidProxy))
            throw err;
        const { source } = chooseProxy(read('proxy'), env);
        throw new InputError(source === 'input' ? 'proxy' : source, `Invalid proxy in ${source === 'input' ? 'the proxy input' : `the ${source} variable`}: ${err.message}.`);
    }
    for (const [upper, lower] of [
        ['HTTPS_PROXY', 'https_proxy'],
        ['NO_PROXY', 'no_proxy'],
    ]) {
        const [a, b] = [env[upper]?.trim(), env[lower]?.trim()];
        if (a !== undefined &&
            b !== undefined &&
            a !== b &&
            !(upper === 'HTTPS_PROXY' && proxy.source === 'input')) {
            // The values are not quoted: a proxy URL may hold a password.
            warnings.push(`${upper} and ${lower} differ; ${upper} is used, as docker, podman and skopeo (Go programs) use it, though curl would use ${lower}. Set both to the same value.`);
        }
    }
    if (proxy.schemeAssumed && proxy.url) {
        warnings.push(`The proxy has no scheme; it is used as http://${proxy.url.host}, as curl and Go do (@actions/http-client would ignore it).`);
    }
    const timeoutSeconds = parseNumber('timeout', read('timeout'), 10, {
        min: 0.1,
        max: 600,
        integer: false,
    });
    const retries = parseNumber('retries', read('retries'), 2, { min: 0, max: 10, integer: true });
    const platforms = parsePlatforms(read('platform'), env);
    const layers = parseChoice('layers', read('layers'), ['auto', 'true', 'false'], 'auto');
    const credentials = username && password ? { username, password } : undefined;
    const auth = parseAuthFileInput(read('auth-file').trim(), env, onSecret, {
        registry,
        images,
        credentials: !!credentials,
        warnings,
    });
    return {
        config: {
            registry: auth?.registry ?? registry,
            credentials,
            missing: username && !password ? 'password' : !username && password ? 'username' : undefined,
            images,
            authUrl,
            proxy,
            timeoutMs: Math.round(timeoutSeconds * 1000),
            retries,
            platforms,
            layers,
            ...(auth && {
                authFiles: auth.files,
                extraRegistries: auth.extraRegistries,
                skippedRegistries: auth.skipped,
            }),
        },
        failOnError: parseBoolean('fail-on-error', read('fail-on-error'), true),
        writeSummary: parseBoolean('summary', read('summary'), true),
        warnings,
    };
}
/**
 * Trims as docker/login-action and podman login do, so the verdict predicts the login step;
 * says what trimming hid, since tools that take the secret raw would fail with it.
 */
function credential(name, raw, warnings) {
    const value = raw.trim();
    if (value !== raw && value !== '') {
        const what = /[\r\n]/.test(raw.replace(value, '')) ? 'a newline' : 'white space';
        warnings.push(`The ${name} input has ${what} at its start or end. It was trimmed, as docker/login-action and podman login do, but tools that take it raw (curl -u, skopeo --creds) would fail with it: fix the secret.`);
    }
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(value)) {
        throw new InputError(name, `Invalid ${name}: it contains a control character (such as a newline) inside it. Expected a single line.`);
    }
    if (/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/.test(value)) {
        warnings.push(`The ${name} input contains an invisible Unicode character (zero-width or bidirectional control); check that the secret was copied cleanly.`);
    }
    if (/\s/.test(value)) {
        warnings.push(`The ${name} input contains white space inside it; check that the secret holds only the ${name}.`);
    }
    return value;
}
/**
 * The secrets among the inputs (the password, the proxy's password) in every form they may take
 * in a line of output, for the runner's mask. Read before anything else, so it holds even when
 * the inputs turn out to be invalid.
 */
function secretsOf(read, env) {
    const forms = secretForms(read('password'));
    // The proxy that is used, and every other spelling that is set: a password in the variable that
    // loses is still a password. Read from the raw text, so that even a proxy URL too broken to parse
    // has its password masked, whatever characters it holds (the userinfo runs to the last `@`).
    const proxies = [chooseProxy(read('proxy'), env).value, env.HTTPS_PROXY, env.https_proxy];
    for (const proxy of proxies) {
        const text = proxy?.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '') ?? '';
        const userinfo = text.slice(0, Math.max(text.lastIndexOf('@'), 0));
        if (!userinfo.includes(':'))
            continue;
        const colon = userinfo.indexOf(':');
        const [user, password] = [decodeLeniently(userinfo.slice(0, colon)), userinfo.slice(colon + 1)];
        const decoded = decodeLeniently(password);
        forms.push(...secretForms(password), ...secretForms(decoded));
        forms.push(Buffer.from(`${user}:${decoded}`).toString('base64'));
    }
    return [...new Set(forms)];
}
function decodeLeniently(value) {
    try {
        return decodeURIComponent(value);
    }
    catch {
        return value;
    }
}
/** The value and the forms it takes in a URL or a header line. */
function secretForms(value) {
    const trimmed = value.trim();
    return [value, trimmed, encodeURIComponent(trimmed), ...trimmed.split(/\r?\n/)].filter((v) => v.trim().length > 0);
}
function parseImages(text, registry) {
    // Comment lines go first, so a comma inside one does not make an image of its tail.
    const entries = text
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .flatMap((line) => line.split(','))
        .map((e) => e.trim())
        .filter((e) => e !== '');
    if (entries.length > MAX_IMAGES)
        throw new InputError('images', `Too many images: ${entries.length}; at most ${MAX_IMAGES}.`);
    const seen = new Set();
    const images = [];
    for (const entry of entries) {
        let ref;
        try {
            if (/\s/.test(entry))
                throw new InvalidReference('it contains white space');
            ref = parseImageRef(entry, registry);
        }
        catch (err) {
            const reason = err instanceof InvalidReference ? err.message : 'it cannot be read';
            throw new InputError('images', `Invalid image reference '${quote(entry)}' in images: ${reason}. Expected [host/]repository[:tag][@sha256:digest], e.g. ubi9/ubi:latest.`);
        }
        const key = formatImageRef(ref);
        if (!seen.has(key)) {
            seen.add(key);
            images.push(ref);
        }
    }
    return images;
}
function parseAuthUrl(text) {
    if (!text)
        return undefined;
    let url;
    try {
        url = new URL(text);
    }
    catch {
        // Not quoted back: an unreadable URL may still carry credentials.
        throw new InputError('auth-url', 'Invalid auth-url: it is not a URL. Expected an https URL of the token endpoint.');
    }
    if (url.username || url.password) {
        throw new InputError('auth-url', 'Invalid auth-url: it must not carry credentials; use the username and password inputs.');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
        throw new InputError('auth-url', `Invalid auth-url '${quote(text)}'. Expected an https URL: credentials are never sent over plain http.`);
    }
    if (isLinkLocal(url.hostname)) {
        throw new InputError('auth-url', 'Invalid auth-url: it points at a link-local address, where no token service lives.');
    }
    return url;
}
function parseNumber(name, text, fallback, range) {
    const value = text.trim();
    if (value === '')
        return fallback;
    const pattern = range.integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
    const n = Number(value);
    if (!pattern.test(value) || n < range.min || n > range.max) {
        const kind = range.integer ? 'a whole number' : 'a number of seconds';
        throw new InputError(name, `Invalid ${name} '${quote(value)}'. Expected ${kind} from ${range.min} to ${range.max}.`);
    }
    return n;
}
/** Not registries, though pull secrets carry them: OpenShift's telemetry endpoint. */
const NOT_REGISTRIES = new Set(['cloud.openshift.com']);
/**
 * `auth-file`: the files to read credentials from, and which registries they add to the check:
 * with no images, every registry the files name (the way to check a pull secret in one step).
 * With docker or podman, a registry for which the other engine's files hold other credentials
 * (or none) is warned about: that mismatch is the usual cause of "login succeeded, pull denied".
 */
function parseAuthFileInput(value, env, onSecret, context) {
    if (!value)
        return undefined;
    let files;
    try {
        files = readAuthFiles(value, env, onSecret);
    }
    catch (err) {
        if (!(err instanceof AuthSourceError))
            throw err;
        throw new InputError('auth-file', `Invalid auth-file: ${err.message}.`);
    }
    const named = [];
    for (const host of registriesOf(files)) {
        try {
            named.push(normalizeRegistry(host));
        }
        catch {
            // A key that is no host[:port] names no registry a pull could reach.
        }
    }
    const skipped = named.filter((r) => NOT_REGISTRIES.has(r));
    const inFile = named.filter((r) => !NOT_REGISTRIES.has(r));
    let registry;
    let extraRegistries = [];
    if (!context.images.length) {
        // The configured registry is checked when the inputs give it credentials or the file names it;
        // otherwise (the default registry, say) the file's own registries are.
        if (!context.credentials && inFile.length && !inFile.includes(context.registry))
            registry = inFile[0];
        extraRegistries = inFile.filter((r) => r !== (registry ?? context.registry));
    }
    if (files.engine !== 'path') {
        const checked = [
            { registry: registry ?? context.registry },
            ...context.images.map((i) => ({ registry: i.registry, repository: i.repository })),
            ...extraRegistries.map((r) => ({ registry: r })),
        ].filter((c, n, all) => all.findIndex((d) => d.registry === c.registry) === n);
        context.warnings.push(...engineMismatches(files.engine, env, checked, files, onSecret));
    }
    return { files, registry, extraRegistries, skipped };
}
/**
 * `platform`: empty for the machine's own (the runner's RUNNER_OS and RUNNER_ARCH), `any` to skip
 * the check, or a comma-separated list every image must offer.
 */
function parsePlatforms(text, env) {
    const value = text.trim();
    if (value.toLowerCase() === 'any')
        return { kind: 'any' };
    if (value === '') {
        const { platform, source } = hostPlatform(env);
        return { kind: 'list', platforms: [normalizePlatform(platform)], explicit: false, source };
    }
    const platforms = [];
    for (const entry of value.split(/[\s,]+/).filter(Boolean)) {
        try {
            platforms.push(parsePlatform(entry));
        }
        catch (err) {
            if (!(err instanceof InvalidPlatform))
                throw err;
            throw new InputError('platform', `Invalid platform '${quote(entry)}' in platform: ${err.message}. Expected os/architecture[/variant] (linux/amd64, linux/arm64, linux/arm/v7), a comma-separated list of them, or any.`);
        }
    }
    return { kind: 'list', platforms, explicit: true, source: 'the platform input' };
}
function parseChoice(name, text, choices, fallback) {
    const value = text.trim().toLowerCase();
    if (value === '')
        return fallback;
    const choice = choices.find((c) => c === value);
    if (choice)
        return choice;
    throw new InputError(name, `Invalid ${name} '${quote(text.trim())}'. Expected ${choices.join(', ')}.`);
}
/** YAML 1.2's core booleans, as @actions/core's getBooleanInput accepts them; '' gives the default. */
function parseBoolean(name, text, fallback) {
    const value = text.trim();
    if (value === '')
        return fallback;
    if (['true', 'True', 'TRUE'].includes(value))
        return true;
    if (['false', 'False', 'FALSE'].includes(value))
        return false;
    throw new InputError(name, `Invalid ${name} '${quote(value)}'. Expected true or false.`);
}

;// CONCATENATED MODULE: ./src/outputs.ts
function outputsOf(report) {
    const notPulling = report.pullReady ? [] : report.images.filter((i) => i.outcome !== 'passed');
    return {
        'pull-ready': String(report.pullReady),
        result: report.result,
        message: report.message,
        'sso-status': report.ssoStatus?.toString() ?? '',
        'registry-status': report.registryStatus?.toString() ?? '',
        'token-expires-in': report.tokenExpiresIn?.toString() ?? '',
        'failed-images': notPulling.map((i) => i.image).join('\n'),
        hosts: report.hosts.join('\n'),
        report: JSON.stringify(report),
    };
}

;// CONCATENATED MODULE: ./src/evidence.ts
/** The registry's operator, from any of its hosts (its registry, token service or CDN). */
function familyOf(host) {
    const name = (host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (/(^|\.)redhat\.(io|com)$/.test(name))
        return 'redhat';
    if (/(^|\.)docker\.(io|com)$/.test(name))
        return 'dockerhub';
    if (/(^|\.)quay\.io$/.test(name))
        return 'quay';
    if (name === 'ghcr.io' || name.endsWith('.githubusercontent.com'))
        return 'ghcr';
    return 'other';
}
/**
 * The first failure in the order the core decides by: the registries' doors (every check but the
 * layer path), then the images in input order, then the layer path.
 */
function decisiveFailure(report) {
    const failed = (c) => c.outcome === 'failed' && !!c.finding;
    const door = report.checks.find((c) => c.id !== 'blob' && failed(c));
    const image = report.images.find((i) => i.outcome === 'failed' && i.finding);
    const blob = report.checks.find((c) => c.id === 'blob' && failed(c));
    const check = door ?? (image ? undefined : blob);
    if (check) {
        return {
            finding: check.finding,
            hop: check.atProxy ? 'proxy' : check.hop,
            host: check.host,
            registry: check.registry,
            check,
        };
    }
    if (image) {
        return {
            finding: image.finding,
            hop: 'registry',
            host: image.registry,
            registry: image.registry,
            image,
        };
    }
    return undefined;
}
/** How the proxy failed, read from the finding's words (the tunnel's own sentences). */
function proxyFailure(finding) {
    if (!finding)
        return undefined;
    if (finding.code === 'proxy-auth-required')
        return { kind: 'auth' };
    if (finding.code !== 'proxy-error')
        return undefined;
    const d = finding.detail;
    const refused = /refused the tunnel to (\S+) with HTTP (\d{3})/.exec(d);
    if (refused)
        return { kind: 'refused', target: refused[1], status: Number(refused[2]) };
    if (/did not answer the CONNECT/.test(d))
        return { kind: 'timeout' };
    if (/cannot reach the proxy .*(ENOTFOUND|EAI_AGAIN|EAI_NODATA|EAI_FAIL|EAI_NONAME)/.test(d))
        return { kind: 'dns' };
    return { kind: 'unreachable' };
}
function oddAnswer(finding) {
    const d = finding?.detail ?? '';
    if (/HTML page/.test(d))
        return 'html';
    if (/token realm .* is not https/.test(d))
        return 'realm-plain-http';
    if (/token realm .* link-local/.test(d))
        return 'realm-link-local';
    if (/token realm that is not a URL/.test(d))
        return 'realm-not-url';
    if (/redirect|link-local address/.test(d))
        return 'redirect';
    if (/not valid HTTP|cannot be sent in an HTTP request/.test(d))
        return 'not-http';
    if (/token/.test(d) && !/WWW-Authenticate/.test(d))
        return 'bad-token';
    if (/WWW-Authenticate|challenge/.test(d))
        return 'challenge';
    return 'other';
}
/** The seconds a timeout waited, as its finding says them (`within 2 s`). */
function timeoutSeconds(finding) {
    const match = /within (\d+(?:\.\d+)?) s\b/.exec(finding?.detail ?? '');
    return match ? Number(match[1]) : undefined;
}
/** The `timeout` input's default, in seconds: a run with less may cut a slow but working host. */
const DEFAULT_TIMEOUT_S = 10;
/**
 * The two or three words that name a failure on the diagram and in the tables: what a person
 * would say ("credentials refused", "timeout 2 s", "CONNECT refused (403)"), never the sentence.
 */
function shortReason(finding) {
    const d = finding.detail;
    switch (finding.code) {
        case 'ok':
            return 'passed';
        case 'missing-credentials':
            return 'no credentials';
        case 'invalid-credentials':
            return 'credentials refused';
        case 'access-denied':
            return TOKEN_FINDING.test(d) ? 'token refused' : 'access denied';
        case 'image-not-found':
            return /config blob/.test(d) ? 'layer missing' : 'not found';
        case 'rate-limited':
            return 'rate-limited';
        case 'registry-error':
            return 'server error';
        case 'unexpected-response':
            return {
                html: 'HTML page',
                'realm-plain-http': 'realm not https',
                'realm-link-local': 'link-local realm',
                'realm-not-url': 'realm not a URL',
                redirect: 'redirect stopped',
                'not-http': 'not HTTP',
                'bad-token': 'unusable token',
                challenge: 'no usable challenge',
                other: 'unexpected answer',
            }[oddAnswer(finding)];
        case 'dns-error':
            return 'name not found (DNS)';
        case 'connection-failed':
            return /refused the connection/.test(d)
                ? 'connection refused'
                : /unreachable/.test(d)
                    ? 'unreachable'
                    : 'connection cut';
        case 'timeout': {
            const seconds = timeoutSeconds(finding);
            return seconds === undefined ? 'timeout' : `timeout ${seconds} s`;
        }
        case 'tls-error':
            return /expired/i.test(d)
                ? 'certificate expired'
                : /not yet valid/i.test(d)
                    ? 'certificate not yet valid'
                    : /altname|HOSTNAME_MISMATCH|does not match/i.test(d)
                        ? 'certificate for another name'
                        : 'TLS: untrusted certificate';
        case 'proxy-error': {
            const p = proxyFailure(finding);
            if (p?.kind === 'refused')
                return `CONNECT refused${p.status ? ` (${p.status})` : ''}`;
            if (p?.kind === 'timeout')
                return 'no answer to CONNECT';
            if (p?.kind === 'dns')
                return 'proxy name not found';
            return 'proxy unreachable';
        }
        case 'proxy-auth-required':
            return '407: proxy login needed';
        case 'no-matching-platform':
            return 'platform missing';
        case 'invalid-input':
            return 'invalid input';
    }
}
/** Whether a failure happened at the proxy: the host behind it was never reached. */
function atProxy(finding) {
    return finding?.code === 'proxy-error' || finding?.code === 'proxy-auth-required';
}
/** Whether an image's failure came from its token request rather than its manifest. */
function tokenFailure(image) {
    return !!image.finding && TOKEN_FINDING.test(image.finding.detail);
}
/** The token service's findings start by naming it (src/core/tokens.ts, findings.ts). */
const TOKEN_FINDING = /^(the|on the way to the) token service /;
/**
 * Whether an image was never asked for because its registry's `/v2/` failed: such a row carries
 * the registry's finding, with no status and no time of its own.
 */
function doorFailure(image) {
    return image.outcome === 'failed' && image.status === undefined && image.ms === undefined;
}
/** A request path shortened for a table or a node: `/auth/realms/…/auth` keeps its ends. */
function shortRequest(request, max = 28) {
    const [method, path = ''] = request.split(' ', 2);
    if (/\/blobs\//.test(path))
        return `${method} /v2/…/blobs/…`;
    if (path.length <= max)
        return request;
    const parts = path.split('/').filter(Boolean);
    const short = parts.length > 2 ? `/${parts[0]}/…/${parts[parts.length - 1]}` : path;
    return `${method} ${short.length <= max + 4 ? short : `${short.slice(0, max)}…`}`;
}
/** The first word of our sentence capitalised, unless it is a name (a host, an image) written as is. */
function sentence(text) {
    const ended = /[.!?…]$/.test(text) ? text : `${text}.`;
    if (!/^[a-z]+(\s|,|$)/.test(ended))
        return ended;
    return ended.charAt(0).toUpperCase() + ended.slice(1);
}
/** Red Hat's token service, wherever it is served from (its realm path names it). */
const RED_HAT_REALM = /\/realms\/rhcc\//;
/** The result codes whose failure is the network's or the proxy's, not the registry's answer. */
const NETWORK_CODES = (/* unused pure expression or super */ null && ([
    'dns-error',
    'connection-failed',
    'timeout',
    'tls-error',
    'proxy-error',
    'proxy-auth-required',
]));

;// CONCATENATED MODULE: ./src/advice.ts

/**
 * The facts the advice needs, read from a report (the message and the summary use the same).
 * `warnings` are the inputs' warnings, which the core does not see: the summary and the log pass
 * them, so that a warning that explains the failure leads the fix there.
 */
function adviceContext(report, warnings = []) {
    const decisive = decisiveFailure(report);
    const failedRegistry = decisive?.registry ?? report.registry;
    return {
        registry: report.registry,
        tokenHost: report.checks.find((c) => c.id === 'token')?.host,
        failedHost: report.failedHost ?? decisive?.host,
        failedHop: report.failedHop ?? decisive?.hop,
        failedRegistry,
        family: failedRegistry === report.registry && RED_HAT_REALM.test(report.auth.realm ?? '')
            ? 'redhat'
            : familyOf(failedRegistry),
        finding: decisive?.finding,
        failedRequest: decisive?.check?.request,
        proxy: report.proxy.url,
        proxied: report.routes.filter((r) => r.via === 'proxy').map((r) => r.host),
        layersChecked: report.checks.some((c) => c.id === 'blob' && c.outcome !== 'skipped'),
        credentialsGiven: report.auth.credentials === 'given',
        warnings: [...warnings, ...report.notes],
    };
}
const CODE_OF = (text) => `\`${text}\``;
const SERVICE_ACCOUNTS = 'https://access.redhat.com/terms-based-registry/';
const RED_HAT_CDN = 'cdn.quay.io, cdn01.quay.io … cdn06.quay.io';
/** Red Hat's anonymous registry, where some repositories refuse until terms are accepted. */
const ACCESS_REGISTRY = 'registry.access.redhat.com';
const TERMS_STEP = 'set registry: registry.redhat.io with a service account’s credentials and pull the image from there (some images on registry.access.redhat.com require accepting terms)';
const FORKS = 'runs from forks and by Dependabot get no secrets: use Dependabot secrets, or `pull_request_target` with care';
const STATUS_PAGE = {
    redhat: 'https://status.redhat.com',
    dockerhub: 'https://www.dockerstatus.com',
    quay: 'https://status.quay.io',
    ghcr: 'https://www.githubstatus.com',
    other: undefined,
};
/** Where the credentials of each operator's registry come from, and how they are written. */
const CREDENTIALS = {
    redhat: 'For Red Hat, use a Registry Service Account (' +
        SERVICE_ACCOUNTS +
        '): its user name is written `12345678|name`, with the `|`, and its password is the long token that starts with `eyJ`.',
    dockerhub: 'For Docker Hub, the user name is the Docker ID (not the e-mail address) and the password a personal access token with read access (https://app.docker.com/settings/personal-access-tokens).',
    quay: 'For quay.io, use a robot account: its user name is written `organisation+name` and its password is the robot’s token (Account settings → Robot accounts).',
    ghcr: 'For ghcr.io, the user name is a GitHub user and the password a token that may read packages: `${{ secrets.GITHUB_TOKEN }}` with `permissions: packages: read`, or a personal access token with `read:packages`.',
    other: 'Give the user name and password (or token) of an account that can pull these images.',
};
function otherRegistryStep(host) {
    return `add a second preflight step with \`registry: ${host}\` and that registry’s credentials`;
}
function quoteHosts(hosts) {
    const unique = hosts.filter((h, i, all) => !!h && all.indexOf(h) === i);
    return unique.map(CODE_OF).join(' and ');
}
/** The host that failed, the registry and the token service, each once. */
function hostsToAllow(ctx) {
    return quoteHosts([ctx.failedHost, ctx.failedRegistry ?? ctx.registry, ctx.tokenHost]);
}
/** The failed host as a sentence names it: a blob host says whose redirect led there. */
function failedPlace(ctx) {
    const host = ctx.failedHost ?? ctx.registry;
    if (ctx.failedHop === 'blob-host' && ctx.failedRegistry)
        return `${CODE_OF(host)} (the blob host ${ctx.failedRegistry} redirects layer downloads to)`;
    return CODE_OF(host);
}
/** The tunnels the proxy refused, as its CONNECT targets (`host:port`), else the failed host. */
function connectTargets(ctx, p) {
    const refused = p?.kind === 'refused' && p.target ? p.target : undefined;
    const host = refused ?? ctx.failedHost ?? ctx.registry;
    return CODE_OF(/:\d+$/.test(host) ? host : `${host}:443`);
}
/** A URL to ask with `curl -v`: the request that failed, at the host that failed. */
function curlTarget(ctx) {
    const host = ctx.failedHost ?? ctx.registry;
    const path = ctx.failedRequest && !ctx.failedRequest.includes('…')
        ? ctx.failedRequest.replace(/^[A-Z]+ /, '')
        : ctx.failedHop === 'blob-host'
            ? '/'
            : '/v2/';
    return `curl -v https://${host}${path}`;
}
/** The warnings that explain a failure of this kind: the likely cause, so they lead the fix. */
function explainingWarnings(code, warnings) {
    const about = (pattern) => warnings.filter((w) => pattern.test(w));
    switch (code) {
        case 'invalid-credentials':
            return about(/username|password|service account|secret|clock/i);
        case 'missing-credentials':
            return about(/username|password|auth file|auth-file|DOCKER_CONFIG|REGISTRY_AUTH_FILE|podman|docker/i);
        case 'access-denied':
            return about(/clock|username|service account/i);
        case 'unexpected-response':
            return about(/auth-url/i);
        case 'proxy-error':
        case 'proxy-auth-required':
        case 'dns-error':
        case 'connection-failed':
        case 'timeout':
            return about(/proxy/i);
        case 'tls-error':
            return about(/clock|proxy/i);
        case 'no-matching-platform':
            return about(/platform|linux\//i);
        default:
            return [];
    }
}
/** The first thing to do, as the tail of the one-sentence `message`. */
function firstStep(code, ctx) {
    return plan(code, ctx).first;
}
/**
 * The "How to fix" steps, as Markdown sentences: the warnings that explain the failure first,
 * then the fix for this code, this registry's operator and this evidence.
 */
function howToFix(code, ctx) {
    if (code === 'ok')
        return [];
    const leading = explainingWarnings(code, ctx.warnings).map(warningStep);
    const { steps } = plan(code, ctx);
    return [...leading, ...steps];
}
/** A warning turned into the step that removes its cause. */
function warningStep(warning) {
    if (/Service Account.*no '\|'/i.test(warning))
        return `Write the username with its \`|\`: a Registry Service Account’s name is \`12345678|name\`, exactly as ${SERVICE_ACCOUNTS} shows it. The warning above says it has none, which the token service refuses.`;
    if (/white space|newline|invisible/i.test(warning))
        return 'Fix the secret the warning above names: re-copy it without the white space or invisible characters it holds.';
    if (/clock/i.test(warning))
        return 'Fix the runner’s clock (the warning above gives the skew): tokens are refused when the clock is off.';
    return 'Fix what the warning above says first: it is the likely cause.';
}
function plan(code, ctx) {
    const family = ctx.family;
    const host = ctx.failedHost ?? ctx.registry;
    const detail = ctx.finding?.detail ?? '';
    const redHatCdn = familyOf(ctx.registry) === 'redhat' && !ctx.layersChecked
        ? [
            `Image layers come from Red Hat’s CDN (${RED_HAT_CDN}): a firewall that allows only ${ctx.registry} passes this check and still fails the pull of layers.`,
        ]
        : [];
    switch (code) {
        case 'ok':
            return { first: 'nothing to do', steps: [] };
        case 'missing-credentials': {
            const helper = /credential helper (docker-credential-\S+)/.exec(detail)?.[1];
            if (helper) {
                return {
                    first: `make \`${helper}\` answer on the runner: install it, or log in with it before this step`,
                    steps: [
                        `The credential helper \`${helper}\` that the auth file names gave no credentials: install it on the runner and log in with it before this step, or remove \`credsStore\`/\`credHelpers\` from the auth file.`,
                        'Or give the `username` and `password` inputs, from secrets.',
                    ],
                };
            }
            if (/are in |none are in/.test(detail)) {
                const registry = ctx.failedRegistry ?? ctx.registry;
                return {
                    first: `log in to ${registry} before this step (docker/login-action, or podman login) so that the auth file holds its credentials`,
                    steps: [
                        `The auth file holds no credentials for ${CODE_OF(registry)}: log in to it before this step (\`docker/login-action\`, \`docker login\` or \`podman login\`), with the same tool the pull uses.`,
                        CREDENTIALS[familyOf(registry)],
                    ],
                };
            }
            return {
                first: 'check that the secrets behind `username` and `password` exist and reach this workflow (runs from forks and by Dependabot get no secrets)',
                steps: [
                    'Check that the secrets named in `with: username:` and `with: password:` exist in the repository or organisation settings, spelled exactly as in the workflow.',
                    `Workflows triggered from a fork, or by Dependabot, receive no secrets: ${FORKS.replace(/^runs from forks and by Dependabot get no secrets: /, '')}.`,
                    CREDENTIALS[family],
                ],
            };
        }
        case 'invalid-credentials': {
            const registry = ctx.failedRegistry ?? ctx.registry;
            const fix = {
                redhat: {
                    first: 're-check the service account name (written `12345678|name`, with the `|`) and its token, or the Customer Portal login, and regenerate the token if in doubt',
                    steps: [
                        'Check the username: a Registry Service Account’s name is written `12345678|name`, with the `|`, and its password is the long token that starts with `eyJ` (a Customer Portal login works too).',
                        `If in doubt, regenerate the token at ${SERVICE_ACCOUNTS} and update the secret.`,
                    ],
                },
                dockerhub: {
                    first: 're-check the Docker ID (not the e-mail address) and use a personal access token as the password',
                    steps: [
                        'Check the username: Docker Hub wants the Docker ID, not the e-mail address; the password should be a personal access token with read access (https://app.docker.com/settings/personal-access-tokens).',
                        'If in doubt, create a new token and update the secret.',
                    ],
                },
                quay: {
                    first: 're-check the robot account name (`organisation+name`) and its token',
                    steps: [
                        'Check the username: a quay.io robot account is written `organisation+name`, and its password is the robot’s token (Account settings → Robot accounts).',
                        'If in doubt, regenerate the robot’s token and update the secret.',
                    ],
                },
                ghcr: {
                    first: 're-check the GitHub user name, and that the token may read packages (`read:packages`, or GITHUB_TOKEN with `packages: read`)',
                    steps: [
                        'Check the credentials: the username is a GitHub user, the password `${{ secrets.GITHUB_TOKEN }}` (with `permissions: packages: read`) or a personal access token with `read:packages`.',
                        'A personal access token expires: if in doubt, create a new one and update the secret.',
                    ],
                },
                other: {
                    first: `re-check the user name and password for ${registry}, and regenerate the token if in doubt`,
                    steps: [
                        `Check the user name and password (or token) for ${CODE_OF(registry)}: one of them is wrong, or the token was revoked or has expired.`,
                        'If in doubt, regenerate the token or password and update the secret.',
                    ],
                },
            };
            return fix[family];
        }
        case 'access-denied': {
            if (host === ACCESS_REGISTRY) {
                return {
                    first: TERMS_STEP,
                    steps: [
                        `${ACCESS_REGISTRY} needs no login, but some of its images are served only to accounts that accepted their terms.`,
                        `Pull the image from registry.redhat.io instead, with a Registry Service Account (${SERVICE_ACCOUNTS}): ${TERMS_STEP}.`,
                    ],
                };
            }
            if (ctx.failedHop === 'blob-host') {
                return {
                    first: `let the download from ${CODE_OF(host)} through unchanged: the blob host refused the registry’s signed redirect (a proxy that rewrites it, or a skewed clock)`,
                    steps: [
                        `The blob host ${failedPlace(ctx)} refused the layer download. Its URL is signed and expires: a proxy or firewall that rewrites or strips its query, or a runner clock that is off, makes it fail.`,
                        `Allow ${CODE_OF(host)} unchanged (no TLS inspection, no URL rewriting) and check the runner’s clock.`,
                    ],
                };
            }
            const registry = ctx.failedRegistry ?? ctx.registry;
            if (registry !== ctx.registry && /credentials are only sent to|anonymous/.test(detail)) {
                return {
                    first: otherRegistryStep(registry),
                    steps: [
                        `The image on ${CODE_OF(registry)} was checked anonymously: credentials go only to ${CODE_OF(ctx.registry)} and its token service.`,
                        `If the image is private, ${otherRegistryStep(registry)}; if it is public, check its name (a missing repository is often refused the same way).`,
                    ],
                };
            }
            const missingLooksSame = family === 'dockerhub' || family === 'quay';
            const first = {
                redhat: 'check that the account’s organisation has a subscription that includes the image, and that its terms were accepted',
                dockerhub: 'check the repository name and that the account may pull it (on Docker Hub and quay.io a missing repository looks the same)',
                quay: 'check the repository name and that the account may pull it (on Docker Hub and quay.io a missing repository looks the same)',
                ghcr: 'check the package name, and that the package lets this account or repository read it (Package settings → Manage Actions access)',
                other: `check that the account may pull the repository on ${registry}`,
            }[family];
            const refusedImage = /although it asks for no credentials/.test(detail)
                ? `${CODE_OF(registry)} refuses this image to every request, though it asks for no credentials: check the name, or whether the image needs an account.`
                : ctx.credentialsGiven
                    ? 'The credentials are valid, but the registry refused this image for this account.'
                    : 'The registry refused this image to an anonymous request: give credentials that may pull it.';
            return {
                first,
                steps: [
                    refusedImage,
                    {
                        redhat: `Check that the account’s organisation has a subscription that includes the image, and that its terms were accepted at ${SERVICE_ACCOUNTS}.`,
                        dockerhub: 'Check that the account has pull access to the repository (a private repository needs a member of its organisation or team).',
                        quay: 'Check that the robot account or user has read permission on the repository.',
                        ghcr: 'Check the package’s settings: under Manage Actions access, add this repository with the Read role; a private package also needs the token to belong to a user who may read it.',
                        other: 'Check that the account has pull access to the repository.',
                    }[family],
                    ...(missingLooksSame
                        ? [
                            'On Docker Hub and quay.io, a repository that does not exist is refused the same way: check its name.',
                        ]
                        : []),
                ],
            };
        }
        case 'image-not-found': {
            if (/config blob/.test(detail)) {
                return {
                    first: 'the registry holds the manifest but not its layers: push the image again, or pick another tag',
                    steps: [
                        `${CODE_OF(host)} serves the image’s manifest but not the blob it names: the image is broken on the registry. Push it again, or pick another tag or digest.`,
                    ],
                };
            }
            return {
                first: 'check the repository name and the tag or digest',
                steps: [
                    'Check the repository name, and that the tag or digest exists (tags are case-sensitive).',
                    {
                        redhat: 'Browse https://catalog.redhat.com to find the exact repository and tag.',
                        dockerhub: 'On Docker Hub, official images live under `library/` (`nginx` is `library/nginx`); browse https://hub.docker.com for the exact name and tags.',
                        quay: 'Browse the repository on https://quay.io for its tags.',
                        ghcr: 'The package’s page on GitHub lists its tags; the name is `ghcr.io/owner/package`, in lower case.',
                        other: 'List the tags in the registry’s web interface.',
                    }[family],
                ],
            };
        }
        case 'rate-limited':
            if (family === 'dockerhub' && ctx.credentialsGiven && ctx.registry === ctx.failedRegistry) {
                return {
                    first: 'wait for Docker Hub’s limit to reset, or use an account on a plan with a higher pull limit',
                    steps: [
                        'Docker Hub limits pulls over a window of hours, per account when logged in: this account has used its pulls.',
                        'Wait for the window to reset (the Details give what the registry said is left), spread the pulls over accounts or runs, or use a plan with a higher limit.',
                    ],
                };
            }
            if (family === 'dockerhub') {
                return {
                    first: 'log in to Docker Hub (anonymous pulls are limited per IP address, and a runner shares its address) or wait for the limit to reset',
                    steps: [
                        'Docker Hub limits pulls over a window of hours; anonymous pulls count per IP address, which a hosted runner shares with others.',
                        'Give Docker Hub credentials (`username` and `password`, a personal access token), or wait for the window to reset (the Details give what the registry said is left).',
                    ],
                };
            }
            return {
                first: `wait and retry later: ${host} is limiting requests`,
                steps: [
                    `${CODE_OF(host)} is limiting requests: wait for the limit to reset (the message gives the Retry-After the server asked for, if any), then retry.`,
                    'Fewer images per run, or credentials with a higher limit, keep under it.',
                ],
            };
        case 'registry-error': {
            const page = STATUS_PAGE[family];
            return {
                first: 'the service is failing, not your setup: retry later',
                steps: [
                    `${CODE_OF(host)} answered with a server error after the retries${page ? `: check ${page}` : ''} and retry later.`,
                    'Raise `retries` if the failures are brief.',
                ],
            };
        }
        case 'unexpected-response':
            return oddAnswerPlan(ctx);
        case 'dns-error': {
            const direct = ctx.proxy && !ctx.proxied.includes(host.replace(/:443$/, ''));
            return {
                first: direct
                    ? `${host} is not sent through the proxy (no_proxy), so the runner must resolve it: remove it from no_proxy, or fix the runner’s DNS`
                    : `check DNS on the runner for ${host}, or that the proxy is set (https_proxy or the proxy input)`,
                steps: [
                    `The runner cannot resolve ${failedPlace(ctx)}: check the name for typos and the runner’s DNS settings.`,
                    direct
                        ? 'It goes direct, not through the proxy, because of `no_proxy` (the Details say which entry): remove that entry if only the proxy resolves outside names.'
                        : 'On networks where only the proxy resolves outside names, set `https_proxy` or the `proxy` input.',
                    ...redHatCdn,
                ],
            };
        }
        case 'connection-failed':
            return {
                first: `a firewall is likely in the way: allow HTTPS to ${hostsToAllow(ctx)}`,
                steps: [
                    `Nothing accepted the connection to ${failedPlace(ctx)}. Allow outbound HTTPS (port 443, or the port given) to ${hostsToAllow(ctx)} in the firewall or security group (the Hosts to allow list has them all).`,
                    'If the network requires a proxy, set `https_proxy` or the `proxy` input.',
                    ...redHatCdn,
                ],
            };
        case 'timeout': {
            const seconds = timeoutSeconds(ctx.finding);
            if (seconds !== undefined && seconds < DEFAULT_TIMEOUT_S) {
                return {
                    first: `raise \`timeout\` (it is ${seconds} s; the default is ${DEFAULT_TIMEOUT_S} s): ${host} may be slow rather than blocked`,
                    steps: [
                        `${CODE_OF(host)} did not answer within the \`timeout\` of ${seconds} s, shorter than the default ${DEFAULT_TIMEOUT_S} s: a slow answer is cut there. Raise \`timeout\` (and \`retries\` for brief stalls).`,
                        `If it still times out, a firewall drops the packets: allow ${hostsToAllow(ctx)}, or set the proxy the network requires.`,
                        ...redHatCdn,
                    ],
                };
            }
            return {
                first: `a firewall that drops packets, or a proxy that must be configured: allow ${hostsToAllow(ctx)} or set the proxy`,
                steps: [
                    `Nothing answered from ${failedPlace(ctx)} within the timeout: a firewall that drops packets is the usual cause. Allow ${hostsToAllow(ctx)}.`,
                    'If the network requires a proxy, set `https_proxy` or the `proxy` input.',
                    ...redHatCdn,
                ],
            };
        }
        case 'tls-error':
            return tlsPlan(ctx);
        case 'proxy-error':
            return proxyPlan(ctx, redHatCdn);
        case 'proxy-auth-required': {
            const hasCredentials = /\*\*\*@/.test(ctx.proxy ?? '');
            return hasCredentials
                ? {
                    first: 'check the user name and password in the proxy URL: the proxy refused them (percent-encode special characters)',
                    steps: [
                        `The proxy ${ctx.proxy ?? ''} answered 407 to the credentials in its URL: check the user name and password, and percent-encode characters such as \`@\`, \`:\` and \`%\`.`,
                    ],
                }
                : {
                    first: 'give the proxy’s credentials in the proxy URL (http://user:password@host:port, from a secret)',
                    steps: [
                        'The proxy answered 407 (it wants a login): give its credentials in the URL, `http://user:password@proxy:port`, built from a secret (percent-encode special characters).',
                    ],
                };
        }
        case 'no-matching-platform':
            return {
                first: 'pick a multi-platform tag, set the platform input to what the pull will ask for, or run on a runner of a platform the image offers',
                steps: [
                    'The image’s index lists the platforms it was built for, and the one the pull will ask for is not among them: `docker pull` fails with “no matching manifest for … in the manifest list entries”.',
                    'Pick a tag that is built for this platform (the message lists what the index holds), or run the job on a runner of a platform the image offers (`runs-on: ubuntu-24.04-arm` for arm64).',
                    'If the pull asks for another platform than the runner’s own (`docker pull --platform`, a multi-platform build), say so with the `platform` input, e.g. `platform: linux/amd64,linux/arm64`.',
                ],
            };
        case 'invalid-input':
            return {
                first: 'fix the step’s inputs in the workflow file',
                steps: [
                    'Fix the input named above in the workflow file; the expected form is given there and in the README. Nothing was sent to any registry.',
                ],
            };
    }
}
function oddAnswerPlan(ctx) {
    const host = ctx.failedHost ?? ctx.registry;
    const role = ctx.failedHop === 'token-service'
        ? 'token service'
        : ctx.failedHop === 'blob-host'
            ? 'blob host'
            : 'registry';
    const curl = `\`${curlTarget(ctx)}\``;
    switch (oddAnswer(ctx.finding)) {
        case 'html':
            return {
                first: `something other than the ${role} answered (a captive portal, transparent proxy or firewall page): check what the runner gets from ${host}`,
                steps: [
                    `An HTML page answered where the ${role} ${CODE_OF(host)} was expected: a captive portal, a transparent proxy or a firewall’s block page is the usual cause.`,
                    `See what the runner reaches with ${curl}.`,
                    ...(ctx.failedHop === 'token-service'
                        ? ['If you set `auth-url`, check that it is the registry’s token endpoint.']
                        : []),
                ],
            };
        case 'realm-plain-http':
            return {
                first: 'the registry announced its token service over plain http, where credentials are never sent: set `auth-url` to its https endpoint, or have the registry fixed',
                steps: [
                    'The registry’s challenge names a token realm over plain http; credentials are never sent there. A registry behind a TLS-terminating proxy that does not know it is served over https announces such a realm.',
                    'Set `auth-url` to the https address of the token service, or have the registry’s operator fix its configured realm.',
                ],
            };
        case 'realm-link-local':
            return {
                first: 'the registry named a link-local address as its token service: set `auth-url` to the real token endpoint, or have the registry fixed',
                steps: [
                    'The registry’s challenge names a token realm at a link-local address (169.254.0.0/16, fe80::/10), where cloud metadata services live and no token service does; credentials are never sent there.',
                    'Set `auth-url` to the real token endpoint, or have the registry’s operator fix its configured realm.',
                ],
            };
        case 'realm-not-url':
        case 'challenge':
            return {
                first: 'the registry’s 401 names no usable token service: set `auth-url` to its token endpoint',
                steps: [
                    'A registry’s 401 says where to get a token: `WWW-Authenticate: Bearer realm="https://…",service="…"`. This one’s cannot be used.',
                    'Set `auth-url` to the registry’s token endpoint (its documentation names it).',
                ],
            };
        case 'redirect':
            return {
                first: 'a redirect broke the rules a pull follows (https only, at most 5, never to a link-local address): check the registry’s or proxy’s redirects',
                steps: [
                    `A redirect from ${CODE_OF(host)} was not followed: pulls follow at most 5 redirects, over https only, and never to a link-local address.`,
                    `See where it leads with ${curl}.`,
                ],
            };
        case 'not-http':
            return {
                first: `the answer from ${host} was not valid HTTP: check what listens there`,
                steps: [
                    `The answer from ${CODE_OF(host)} was not valid HTTP (the \`HPE_…\` code is the reason Node’s HTTP parser gave: a header too large or malformed, a broken status line): a middlebox, or something other than an HTTP server on that port.`,
                    `See what the runner gets with ${curl}.`,
                ],
            };
        case 'bad-token':
            return {
                first: `the token service ${host} answered without a token this action can use: check \`auth-url\`, or that this is the registry’s token endpoint`,
                steps: [
                    `The token service ${CODE_OF(host)} answered, but not with a token that can be used (none, malformed JSON, or one that cannot be sent in a header).`,
                    `If you set \`auth-url\`, check that it is the registry’s token endpoint; see the answer with ${curl}.`,
                ],
            };
        case 'other':
            return {
                first: `${host} gave an answer no registry gives: check what the runner reaches there`,
                steps: [
                    `${CODE_OF(host)} gave an answer no ${role} gives: a proxy, a firewall page or another service may be answering in its place.`,
                    `See what the runner reaches with ${curl}.`,
                ],
            };
    }
}
function tlsPlan(ctx) {
    const host = ctx.failedHost ?? ctx.registry;
    const detail = ctx.finding?.detail ?? '';
    if (/expired|not yet valid/i.test(detail)) {
        return {
            first: `check the runner’s clock, or ask the operator of ${host} to renew its certificate`,
            steps: [
                `The certificate of ${CODE_OF(host)} is outside its validity dates: check that the runner’s clock is right (a certificate “not yet valid” points at a skewed clock), or ask the operator to renew it.`,
            ],
        };
    }
    const pull = [
        'Make the pull trust the same CA, since `docker pull` does not read `NODE_EXTRA_CA_CERTS`: on the runner, `sudo cp ca.pem /usr/local/share/ca-certificates/proxy-ca.crt && sudo update-ca-certificates && sudo systemctl restart docker`, or for one registry `/etc/docker/certs.d/<host>/ca.crt` (podman, skopeo and buildah: `/etc/containers/certs.d/<host>/ca.crt`).',
    ];
    if (/altname|HOSTNAME_MISMATCH|does not match/i.test(detail)) {
        return {
            first: `${host} presented a certificate for another name: check that its name resolves to the right server, or that no proxy answers in its place`,
            steps: [
                `${CODE_OF(host)} presented a certificate for another name: a DNS entry, a hosts file or a transparent proxy sends the connection elsewhere.`,
                'If a TLS-inspecting proxy answers in its place, give its CA certificate to this step with `env: NODE_EXTRA_CA_CERTS: /path/to/ca.pem`.',
                ...pull,
            ],
        };
    }
    return {
        first: 'a TLS-intercepting proxy is likely: give its CA certificate with NODE_EXTRA_CA_CERTS, and add it to the trust store docker uses',
        steps: [
            `The certificate of ${CODE_OF(host)} was signed by a CA the runner does not trust${/through the proxy/.test(detail) ? ', inside the proxy’s tunnel: the proxy inspects TLS' : ''}. Give that CA’s certificate to this step with \`env: NODE_EXTRA_CA_CERTS: /path/to/ca.pem\`.`,
            ...pull,
        ],
    };
}
function proxyPlan(ctx, redHatCdn) {
    const p = proxyFailure(ctx.finding);
    const proxy = ctx.proxy ?? 'the proxy';
    switch (p?.kind) {
        case 'dns':
            return {
                first: `check the proxy’s host name: ${proxy} does not resolve on the runner`,
                steps: [
                    `The proxy’s own name does not resolve on the runner: check ${CODE_OF(proxy)} for typos, and that the runner’s DNS knows it (the Details say where the proxy was set).`,
                ],
            };
        case 'unreachable':
            return {
                first: `check the proxy’s address and port: nothing accepts connections at ${proxy}`,
                steps: [
                    `Nothing accepted a connection at the proxy ${CODE_OF(proxy)}: check its host and port, and that it runs and can be reached from the runner.`,
                ],
            };
        case 'timeout':
            return {
                first: `check that ${proxy} is an HTTP proxy: it did not answer the CONNECT (the request that opens a tunnel) in time`,
                steps: [
                    `The proxy ${CODE_OF(proxy)} accepted the connection but did not answer the CONNECT in time (CONNECT is the request by which a proxy opens a tunnel to a host): check that this is the proxy’s HTTP port, or raise \`timeout\`.`,
                ],
            };
        default: {
            const targets = connectTargets(ctx, p);
            return {
                first: `allow CONNECT to ${targets} on the proxy${ctx.proxy ? ` ${ctx.proxy}` : ''} (the request by which a proxy opens a tunnel to a host)`,
                steps: [
                    `The proxy refused to open a tunnel (a CONNECT request) to ${targets}${p?.kind === 'refused' && p.status ? ` with HTTP ${p.status}` : ''}: its allow-list lacks that host.`,
                    `Ask for CONNECT to ${targets} to be allowed on the proxy, with the other hosts the pulls need (the Hosts to allow list).`,
                    ...redHatCdn,
                ],
            };
        }
    }
}
/** The verdict line's reason, short. */
const VERDICT = {
    ok: 'pulls will succeed',
    'missing-credentials': 'credentials are missing',
    'invalid-credentials': 'the credentials were refused',
    'access-denied': 'the registry denied access',
    'image-not-found': 'an image was not found',
    'rate-limited': 'the registry is rate-limiting',
    'registry-error': 'the service is failing',
    'unexpected-response': 'something other than the registry answered',
    'dns-error': 'a host name does not resolve',
    'connection-failed': 'the connection failed',
    timeout: 'no answer in time',
    'tls-error': 'a certificate did not verify',
    'proxy-error': 'the proxy failed',
    'proxy-auth-required': 'the proxy wants credentials',
    'no-matching-platform': 'an image is not built for this platform',
    'invalid-input': 'an input is invalid',
};

;// CONCATENATED MODULE: external "node:dns"
const external_node_dns_namespaceObject = require("node:dns");
;// CONCATENATED MODULE: external "node:http"
const external_node_http_namespaceObject = require("node:http");
;// CONCATENATED MODULE: external "node:https"
const external_node_https_namespaceObject = require("node:https");
;// CONCATENATED MODULE: external "node:tls"
const external_node_tls_namespaceObject = require("node:tls");
;// CONCATENATED MODULE: ./src/retry.ts
/** When to try a request again, and how long to wait first. */
/** Retry-After above this ends the retries: a preflight that waits minutes helps nobody. */
const MAX_RETRY_AFTER_MS = 30_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 8_000;
/** Exponential backoff: 1 s, 2 s, 4 s, … capped at 8 s. `attempt` counts from 0. */
function backoffMs(attempt) {
    return Math.min(BACKOFF_BASE_MS * 2 ** attempt, BACKOFF_CAP_MS);
}
/** `Retry-After` as delay-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value, nowMs) {
    if (!value)
        return undefined;
    const text = value.trim();
    if (/^\d+$/.test(text))
        return Number(text) * 1000;
    // An HTTP date always ends in GMT; V8's lenient Date.parse would find a date in any text.
    if (!/GMT$/.test(text))
        return undefined;
    const date = Date.parse(text);
    if (Number.isNaN(date))
        return undefined;
    return Math.max(0, date - nowMs);
}
function isRetryableStatus(status) {
    // 511 is a captive portal asking for a login, which no retry will pass.
    return status === 429 || (status >= 500 && status <= 599 && status !== 511);
}

;// CONCATENATED MODULE: ./src/tunnel.ts
/**
 * An HTTPS agent that reaches its targets through an HTTP(S) proxy with CONNECT.
 *
 * @actions/http-client tunnels through the `tunnel` package, which has no deadline on the
 * CONNECT (a proxy that accepts TCP and never answers hangs the process) and reports the
 * proxy's refusal only as text. This agent ties the CONNECT to the request's deadline and
 * fails with a typed `TunnelError`, so the report can name the proxy hop and its status.
 */





class TunnelError extends Error {
    kind;
    constructor(message, kind) {
        super(message);
        this.kind = kind;
        this.name = 'TunnelError';
    }
}
class TunnelAgent extends external_node_https_namespaceObject.Agent {
    proxy;
    proxyAuthorization;
    constructor(proxy, options) {
        super(options);
        this.proxy = proxy;
        if (proxy.username || proxy.password) {
            const user = decodeURIComponent(proxy.username);
            const pass = decodeURIComponent(proxy.password);
            this.proxyAuthorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
        }
    }
    createConnection(options, callback) {
        const host = String(options.host ?? options.hostname ?? 'localhost');
        const target = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 443}`;
        const proxyName = redactProxy(this.proxy);
        const trace = options.trace ?? {};
        const signal = options.deadlineSignal;
        const headers = { host: target };
        if (this.proxyAuthorization)
            headers['proxy-authorization'] = this.proxyAuthorization;
        const overTls = this.proxy.protocol === 'https:';
        const connectRequest = (overTls ? external_node_https_namespaceObject : external_node_http_namespaceObject).request({
            host: stripBrackets(this.proxy.hostname),
            port: this.proxy.port || (overTls ? 443 : 80),
            method: 'CONNECT',
            path: target,
            headers,
            agent: false,
            servername: overTls ? this.proxy.hostname : undefined,
        });
        trace.tunnel = 'connecting';
        let settled = false;
        const settle = (err, socket) => {
            if (settled)
                return;
            settled = true;
            signal?.removeEventListener('abort', onAbort);
            callback(err, socket);
        };
        const onAbort = () => {
            connectRequest.destroy();
            settle(new TunnelError(`the proxy ${proxyName} did not answer the CONNECT to ${target} in time`, 'proxy-timeout'));
        };
        if (signal?.aborted) {
            onAbort();
            return undefined;
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        connectRequest.once('connect', (res, socket) => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
                socket.destroy();
                const kind = status === 407 ? 'proxy-auth' : 'proxy-refused';
                const what = status === 407
                    ? 'asked for credentials (407)'
                    : `refused the tunnel to ${target} with HTTP ${status}`;
                settle(new TunnelError(`the proxy ${proxyName} ${what}`, kind));
                return;
            }
            trace.tunnel = 'established';
            // The TLS session to the target runs inside the tunnel; its errors are the target's.
            const { trace: _t, deadlineSignal: _d, ...tlsOptions } = options;
            void _t;
            void _d;
            settle(null, external_node_tls_namespaceObject.connect({
                ...tlsOptions,
                socket,
                servername: options.servername || ((0,external_node_net_namespaceObject.isIP)(host) ? undefined : host),
            }));
        });
        connectRequest.once('error', (err) => {
            settle(new TunnelError(`cannot reach the proxy ${proxyName}: ${err.code ?? err.message}`, 'proxy-unreachable'));
        });
        connectRequest.end();
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/http.ts
/**
 * The one HTTP layer every probe goes through. On top of @actions/http-client it adds what a
 * diagnosis needs and the client lacks: a deadline per attempt from connect to last byte,
 * bodies read with a cap, redirects followed under the rules that keep credentials safe, retries of
 * transient failures honouring Retry-After, our own proxy routing, and every failure turned
 * into a typed `TransportError` instead of a message.
 */








const BODY_LIMIT = 64 * 1024;
const MAX_REDIRECTS = 5;
/**
 * A rule that keeps credentials safe was about to be broken (credentials over plain http or to a
 * link-local address, an https→http redirect, too many redirects): the request is not sent.
 */
class PolicyError extends Error {
}
class Transport {
    options;
    client;
    direct;
    plain;
    tunnel;
    secureContext;
    constructor(options) {
        this.options = options;
        this.client = new lib_HttpClient(options.userAgent, [], {
            allowRedirects: false,
            allowRetries: false,
            // Only an idle timer in the client; the deadline that counts is ours (see attempt()).
            socketTimeout: options.timeoutMs + 1000,
        });
        // One TLS context for every connection: building one per handshake (the root store, with
        // NODE_EXTRA_CA_CERTS) was the largest CPU cost of a run with many images.
        this.secureContext = external_node_tls_namespaceObject.createSecureContext();
        const agentOptions = {
            keepAlive: true,
            maxSockets: 32,
            lookup: refuseLinkLocal(options.lookup ?? external_node_dns_namespaceObject.lookup),
            secureContext: this.secureContext,
        };
        this.direct = new external_node_https_namespaceObject.Agent(agentOptions);
        this.plain = new external_node_http_namespaceObject.Agent(agentOptions);
    }
    route(url) {
        return routeFor(url, this.options.proxy);
    }
    /** One request with its retries. Never throws: failures come back as `error`. */
    async send(request, retries = this.options.retries) {
        const started = this.options.now();
        const route = this.route(request.url);
        let attempts = 0;
        for (;;) {
            attempts++;
            const result = await this.attempt(request);
            const exchange = () => ({
                ...result,
                attempts,
                ms: this.options.now() - started,
                route,
            });
            if (attempts > retries || !isTransient(result) || request.signal?.aborted)
                return exchange();
            const retryAfter = parseRetryAfter(firstHeader(result.answer?.headers['retry-after']), this.options.now());
            if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_MS) {
                return {
                    ...exchange(),
                    retryNote: `Retry-After asked for ${Math.round(retryAfter / 1000)} s, over the 30 s this action waits`,
                };
            }
            const delay = retryAfter ?? backoffMs(attempts - 1);
            this.options.debug(`${request.method} ${safeUrl(request.url)}: transient failure, retry in ${delay} ms`);
            await this.options.sleep(delay);
        }
    }
    /** Closes kept-alive connections so nothing holds the process open. */
    close() {
        this.direct.destroy();
        this.plain.destroy();
        this.tunnel?.destroy();
    }
    agentFor(url) {
        if (url.protocol === 'http:')
            return this.plain;
        if (this.route(url).via === 'direct' || !this.options.proxy.url)
            return this.direct;
        this.tunnel ??= new TunnelAgent(this.options.proxy.url, {
            keepAlive: true,
            maxSockets: 32,
            secureContext: this.secureContext,
        });
        return this.tunnel;
    }
    /** One attempt: the request and its redirects, all within one deadline. */
    async attempt(request) {
        const controller = new AbortController();
        const trace = {};
        const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
        const abandon = () => controller.abort();
        request.signal?.addEventListener('abort', abandon, { once: true });
        let url = request.url;
        let authorization = request.authorization;
        const hops = [];
        try {
            for (let redirects = 0;; redirects++) {
                hops.push(url);
                if (authorization)
                    assertCredentialsMayGo(url);
                if (isLinkLocal(url.hostname))
                    throw new PolicyError(`${url.hostname} is a link-local address`);
                const response = await this.exchange(request, url, authorization, controller.signal, trace);
                const status = response.message.statusCode ?? 0;
                const location = response.message.headers.location;
                if ([301, 302, 303, 307, 308].includes(status) && location && request.method !== 'POST') {
                    response.message.resume();
                    if (redirects >= MAX_REDIRECTS)
                        throw new PolicyError(`more than ${MAX_REDIRECTS} redirects`);
                    const next = new URL(location, url);
                    if (url.protocol === 'https:' && next.protocol !== 'https:') {
                        throw new PolicyError(`a redirect from https to ${next.protocol}// (${next.host}) was refused`);
                    }
                    // Authorization belongs to the origin it was meant for; another host gets none.
                    if (next.origin !== url.origin)
                        authorization = undefined;
                    this.options.debug(`${request.method} ${safeUrl(url)} redirected to ${safeUrl(next)}${next.search ? ' (query not shown)' : ''}`);
                    url = next;
                    continue;
                }
                const limit = request.bodyLimit ?? BODY_LIMIT;
                const body = await readCapped(response, limit, controller.signal);
                return {
                    url,
                    hops,
                    answer: {
                        status,
                        headers: response.message.headers,
                        headersDistinct: response.message.headersDistinct,
                        body,
                        url,
                    },
                };
            }
        }
        catch (err) {
            return {
                url,
                hops,
                error: classifyError(err, trace, controller.signal.aborted, this.options.timeoutMs),
            };
        }
        finally {
            clearTimeout(timer);
            request.signal?.removeEventListener('abort', abandon);
        }
    }
    exchange(request, url, authorization, signal, trace) {
        const headers = { 'user-agent': this.options.userAgent };
        if (request.accept)
            headers.accept = request.accept;
        if (request.range)
            headers.range = request.range;
        const body = request.form?.toString();
        if (body !== undefined) {
            headers['content-type'] = 'application/x-www-form-urlencoded';
            headers['content-length'] = Buffer.byteLength(body);
        }
        if (authorization)
            headers.authorization = authorization;
        const secure = url.protocol === 'https:';
        const options = {
            method: request.method,
            host: stripBrackets(url.hostname),
            port: url.port || (secure ? 443 : 80),
            path: `${url.pathname}${url.search}`,
            headers,
            agent: this.agentFor(url),
            signal,
            trace,
            deadlineSignal: signal,
        };
        const info = { parsedUrl: url, httpModule: secure ? external_node_https_namespaceObject : external_node_http_namespaceObject, options };
        return new Promise((resolve, reject) => {
            this.client.requestRawWithCallback(info, body ?? null, (err, res) => err || !res ? reject(err) : resolve(res));
        });
    }
}
function isTransient(result) {
    if (result.answer)
        return isRetryableStatus(result.answer.status);
    return result.error?.kind === 'reset' || result.error?.kind === 'timeout';
}
/**
 * Credentials never travel over plain http, loopback aside: the last gate before any request with
 * an Authorization header, whoever built it. (Link-local hosts are refused for every request.)
 */
function assertCredentialsMayGo(url) {
    if (url.protocol !== 'https:' && !isLoopback(url.hostname)) {
        throw new PolicyError(`credentials were not sent to ${url.host} over plain http`);
    }
}
/** A host name that resolves to a link-local address (a metadata service) is refused too. */
const refuseLinkLocal = (lookup) => (hostname, options, callback) => {
    lookup(hostname, { ...options }, (err, address, family) => {
        if (err)
            return callback(err, address, family);
        const addresses = Array.isArray(address) ? address : [{ address, family }];
        if (addresses.some((a) => isLinkLocal(a.address))) {
            const refused = Object.assign(new Error(`${hostname} resolves to a link-local address`), {
                code: 'ELINKLOCAL',
            });
            return callback(refused, '', 0);
        }
        callback(null, address, family);
    });
};
/** Reads at most `limit` bytes; a larger body is cut (and its connection dropped). */
function readCapped(response, limit, signal) {
    const message = response.message;
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        let done = false;
        const finish = () => {
            if (done)
                return;
            done = true;
            signal.removeEventListener('abort', onAbort);
            resolve(Buffer.concat(chunks));
        };
        const fail = (err) => {
            if (done)
                return;
            done = true;
            signal.removeEventListener('abort', onAbort);
            message.destroy();
            reject(err);
        };
        const onAbort = () => fail(Object.assign(new Error('deadline'), { name: 'AbortError' }));
        signal.addEventListener('abort', onAbort, { once: true });
        message.on('data', (chunk) => {
            const room = limit - size;
            if (chunk.length >= room) {
                chunks.push(chunk.subarray(0, room));
                size = limit;
                message.destroy();
                finish();
                return;
            }
            chunks.push(chunk);
            size += chunk.length;
        });
        message.on('end', () => finish());
        message.on('error', (err) => fail(err));
        message.on('close', () => {
            if (!message.complete)
                fail(Object.assign(new Error('the connection closed before the body ended'), {
                    code: 'ECONNRESET',
                }));
            else
                finish();
        });
    });
}
const TLS_CODES = new Set([
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'CERT_UNTRUSTED',
    'CERT_REJECTED',
    'CERT_SIGNATURE_FAILURE',
    'HOSTNAME_MISMATCH',
    'EPROTO',
]);
/** Turns whatever Node or the client threw into one of the kinds the diagnosis knows. */
function classifyError(err, trace, deadline, timeoutMs) {
    const seconds = `${Math.round(timeoutMs / 100) / 10} s`;
    if (err instanceof TunnelError) {
        return { kind: err.kind, detail: err.message };
    }
    if (deadline) {
        if (trace.tunnel === 'connecting')
            return {
                kind: 'proxy-timeout',
                detail: `the proxy did not answer the CONNECT within ${seconds}`,
            };
        return { kind: 'timeout', detail: `no complete answer within ${seconds}` };
    }
    if (err instanceof PolicyError)
        return { kind: 'policy', detail: err.message };
    const e = (err ?? {});
    const code = e.code ?? '';
    const message = e.message ?? String(err);
    const throughProxy = trace.tunnel === 'established';
    if (code === 'ELINKLOCAL')
        return { kind: 'policy', detail: message };
    if (['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME'].includes(code)) {
        return { kind: 'dns', detail: `${e.hostname ?? 'the host'} does not resolve (${code})` };
    }
    if (code === 'ECONNREFUSED')
        return {
            kind: 'refused',
            detail: `connection refused (${e.address ?? ''}${e.port ? `:${e.port}` : ''})`,
        };
    if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code) || message === 'socket hang up') {
        return { kind: 'reset', detail: `the connection was reset (${code || message})`, throughProxy };
    }
    if (['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN'].includes(code)) {
        return { kind: 'unreachable', detail: `the host is unreachable (${code})` };
    }
    if (code === 'ETIMEDOUT' || message.startsWith('Request timeout')) {
        return { kind: 'timeout', detail: `no answer within ${seconds}` };
    }
    if (TLS_CODES.has(code) ||
        code.startsWith('ERR_TLS_') ||
        code.startsWith('ERR_SSL_') ||
        code.startsWith('CERT_')) {
        return { kind: 'tls', detail: `${message} (${code})`, throughProxy };
    }
    if (code.startsWith('HPE_'))
        return { kind: 'bad-answer', detail: `an answer that is not valid HTTP (${code})` };
    if (['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE'].includes(code)) {
        // A value from a server (a token, a redirect) that cannot go into a request line or header.
        return {
            kind: 'bad-answer',
            detail: `a value that cannot be sent in an HTTP request (${code})`,
        };
    }
    // Only the code: the text of an error we do not know could quote a request, headers included.
    return {
        kind: 'reset',
        detail: `the connection failed (${code || e.name || 'unknown error'})`,
        throughProxy,
    };
}
/**
 * The URL without its credentials and its query, for logs: a blob host's signed URL carries its
 * signature in the query.
 */
function safeUrl(url) {
    return `${url.protocol}//${url.host}${url.pathname}`;
}
/** `host:port`, the port always written: what a firewall rule or a proxy's CONNECT names. */
function hostPort(url) {
    return `${url.host}${url.port ? '' : url.protocol === 'http:' ? ':80' : ':443'}`;
}
function firstHeader(value) {
    return Array.isArray(value) ? value[0] : value;
}

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = require("node:child_process");
;// CONCATENATED MODULE: ./src/core/credentials.ts
/**
 * The credentials a registry gets, and where they came from: the `username` and `password` inputs
 * (the configured registry only, and they win), else the auth file's entry for the repository,
 * else what its credential helper says (`docker-credential-<name> get`, the server on stdin,
 * within the timeout, never through a shell), else none.
 */


/** The most a helper may print: a JSON object with a user name and a secret. */
const HELPER_OUTPUT_LIMIT = 64 * 1024;
async function resolveCredentials(ctx, registry, repository) {
    const { config } = ctx;
    if (registry === config.registry && config.credentials) {
        return {
            basic: basic(ctx, config.credentials.username, config.credentials.password),
            source: { kind: 'inputs' },
        };
    }
    const auth = config.authFiles;
    const found = auth && lookupAuth(auth.files, registry, repository);
    if (!found)
        return { source: { kind: 'none', searched: auth?.searched } };
    if (found.kind === 'entry') {
        const { entry } = found;
        const source = { kind: 'file', file: found.file, key: found.key };
        // docker and skopeo use the identity token when an entry has one.
        if (entry.identityToken !== undefined)
            return { identityToken: entry.identityToken, source };
        return { basic: basic(ctx, entry.username, entry.password), source };
    }
    const source = { kind: 'helper', file: found.file, helper: found.helper };
    const answer = await ctx.helperAnswer(found.helper, found.server, () => askHelper(found.helper, found.server, config.timeoutMs, ctx.deps.onSecret));
    if ('problem' in answer) {
        return {
            source,
            finding: {
                code: 'missing-credentials',
                detail: `the credential helper docker-credential-${found.helper} (named in ${found.file}) gave no credentials for ${registry}: ${answer.problem}`,
            },
        };
    }
    // Docker's convention: a helper that stores an identity token says so with the user `<token>`.
    if (answer.username === '<token>')
        return { identityToken: answer.secret, source };
    return { basic: basic(ctx, answer.username, answer.secret), source };
}
function basic(ctx, username, password) {
    const encoded = Buffer.from(`${username}:${password}`).toString('base64');
    ctx.deps.onSecret(encoded);
    return `Basic ${encoded}`;
}
/**
 * Runs `docker-credential-<helper> get` with the server on stdin. What it prints is a secret:
 * it is never logged, and a problem is described by its kind, never by its output.
 */
function askHelper(helper, server, timeoutMs, onSecret) {
    const program = `docker-credential-${helper}`;
    return new Promise((resolve) => {
        let settled = false;
        const done = (answer) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            resolve(answer);
        };
        const child = (0,external_node_child_process_namespaceObject.spawn)(program, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], shell: false });
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            done({ problem: `it did not answer within ${Math.round(timeoutMs / 100) / 10} s` });
        }, timeoutMs);
        const chunks = [];
        let size = 0;
        child.stdout.on('data', (chunk) => {
            size += chunk.length;
            if (size > HELPER_OUTPUT_LIMIT) {
                child.kill('SIGKILL');
                done({ problem: 'it printed more than a credential' });
                return;
            }
            chunks.push(chunk);
        });
        child.on('error', (err) => {
            done({
                problem: err.code === 'ENOENT'
                    ? `${program} is not on PATH`
                    : `${program} could not be run (${err.code ?? 'error'})`,
            });
        });
        child.stdin.on('error', () => { }); // a helper that exits without reading: judged by its exit
        child.on('close', (code) => {
            if (code !== 0)
                return done({ problem: `it exited with status ${code ?? 'unknown'}` });
            let json;
            try {
                json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            }
            catch {
                return done({ problem: 'its output is not JSON' });
            }
            const record = json;
            // Masked the moment it is read, before its shape is judged.
            if (typeof record?.Secret === 'string' && record.Secret)
                onSecret(record.Secret);
            if (typeof record !== 'object' ||
                record === null ||
                typeof record.Username !== 'string' ||
                typeof record.Secret !== 'string' ||
                !record.Secret) {
                return done({ problem: 'its output is not {"Username": …, "Secret": …}' });
            }
            done({ username: record.Username, secret: record.Secret });
        });
        child.stdin.end(server);
    });
}

;// CONCATENATED MODULE: ./src/core/limiter.ts
/**
 * Runs at most `size` tasks at once; the others wait for a place, first come, first served, except
 * that urgent tasks (the layer path's hops, which the end of a run waits for) go ahead of the rest.
 */
class Limiter {
    size;
    running = 0;
    queue = [];
    urgent = [];
    constructor(size) {
        this.size = size;
    }
    async run(task, urgent = false) {
        if (this.running < this.size)
            this.running++;
        // The task that finishes hands its place straight to the first in the queue.
        else
            await new Promise((resolve) => (urgent ? this.urgent : this.queue).push(resolve));
        try {
            return await task();
        }
        finally {
            const next = this.urgent.shift() ?? this.queue.shift();
            if (next)
                next();
            else
                this.running--;
        }
    }
}

;// CONCATENATED MODULE: ./src/core/context.ts
/**
 * What every hop of a run shares: the configuration, the one HTTP layer and the limiter in front
 * of it, the secrets met so far, and the record of which hosts were used and how they were reached.
 * The hop modules (endpoint, tokens, images, blobs) sit above this one and never import each
 * other's callers; the sequencer (preflight.ts) sits on top.
 */




function presented(header) {
    return header?.startsWith('Bearer ') ? 'token' : header ? 'basic' : 'nothing';
}
class RunContext {
    config;
    transport;
    deps;
    started;
    /** Things worth knowing that do not fail the run; shown as warnings. */
    notes = [];
    /** What was left unchecked and why; shown with the details, not as a warning. */
    info = [];
    routes = [];
    hostsUsed = [];
    /** Each credential helper is asked once per server, whichever registry run asks first. */
    helperAnswers = new Map();
    limiter;
    /** Every secret of the run, cut from whatever a server sent before the report holds it. */
    scrubber = new Scrubber();
    maxSkewMs = 0;
    constructor(config, deps) {
        this.config = config;
        this.deps = {
            ...deps,
            onSecret: (value) => {
                this.scrubber.add(value);
                deps.onSecret(value);
            },
        };
        for (const secret of configSecrets(config))
            this.scrubber.add(secret);
        this.started = deps.now();
        this.limiter = new Limiter(deps.concurrency);
        this.transport = new Transport({
            timeoutMs: config.timeoutMs,
            retries: config.retries,
            proxy: config.proxy,
            userAgent: deps.userAgent,
            sleep: deps.sleep,
            now: deps.now,
            debug: deps.debug,
        });
    }
    /** Every `host:port` the pulls need, in the order first used. */
    get hosts() {
        return [...this.hostsUsed];
    }
    get clockSkewMs() {
        return this.maxSkewMs;
    }
    /** One request through the limiter and the transport, logged, its hosts recorded. */
    async send(request, options = {}) {
        if (!options.speculative)
            this.use(request.url);
        const exchange = await this.limiter.run(() => this.transport.send(request, options.retries ?? this.config.retries), options.urgent);
        if (exchange.answer && options.secretsIn)
            for (const secret of options.secretsIn(exchange.answer.body))
                this.deps.onSecret(secret);
        if (!options.speculative)
            this.adopt(exchange);
        const outcome = exchange.answer ? `HTTP ${exchange.answer.status}` : exchange.error?.kind;
        const where = exchange.url.host === request.url.host ? '' : ` (last answer from ${exchange.url.host})`;
        this.deps.debug(`${request.method} ${request.url.host}${request.url.pathname}: ${outcome}${where} in ${exchange.ms} ms (${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'})`);
        if (exchange.answer)
            this.noteSkew(dateHeader(exchange.answer.headers.date));
        return exchange;
    }
    helperAnswer(helper, server, ask) {
        const key = `${helper}\n${server}`;
        let answer = this.helperAnswers.get(key);
        if (!answer) {
            answer = ask();
            this.helperAnswers.set(key, answer);
        }
        return answer;
    }
    /** Counts the hosts of an exchange as used (a speculative one, once it turns out to be needed). */
    adopt(exchange) {
        for (const url of exchange.hops)
            this.use(url);
    }
    noteSkew(serverTime) {
        if (!serverTime)
            return;
        const skew = Math.abs(this.deps.now() - serverTime.getTime());
        if (skew > this.maxSkewMs)
            this.maxSkewMs = skew;
    }
    close() {
        this.transport.close();
    }
    use(url) {
        const target = hostPort(url);
        if (this.hostsUsed.includes(target))
            return;
        this.hostsUsed.push(target);
        const route = this.transport.route(url);
        if (!this.routes.some((r) => r.host === url.host))
            this.routes.push({ host: url.host, via: route.via, reason: route.reason });
    }
}
/** The secrets a run starts with: the password, and the proxy's password, as given and decoded. */
function configSecrets(config) {
    const secrets = [];
    if (config.credentials)
        secrets.push(config.credentials.password);
    for (const file of config.authFiles?.files ?? [])
        for (const entry of file.entries.values()) {
            if (entry.password)
                secrets.push(entry.password);
            if (entry.identityToken)
                secrets.push(entry.identityToken);
        }
    const proxy = config.proxy.url;
    if (proxy?.password) {
        secrets.push(proxy.password);
        try {
            secrets.push(decodeURIComponent(proxy.password));
        }
        catch {
            // Percent-encoding is checked when the proxy is read; the raw form is registered anyway.
        }
    }
    return secrets;
}
function dateHeader(value) {
    const text = Array.isArray(value) ? value[0] : value;
    const date = text ? new Date(text) : undefined;
    return date && !Number.isNaN(date.getTime()) ? date : undefined;
}
/**
 * One registry's part of a run: its name, the credentials it gets (only the configured registry
 * gets any), what to check there, and the tokens fetched for its repositories.
 */
class RegistryScope {
    ctx;
    registry;
    dockerHub;
    /** Tokens per repository, fetched once and shared by all its tags. */
    tokens = new Map();
    /** The statuses the outputs report, for the configured registry. */
    facts;
    /** Follow an image to its config blob, through the registry's redirect. */
    layers;
    /** The platforms every image must offer here; undefined when not checked here. */
    platforms;
    /** Credentials per repository ('' for the registry itself), resolved by prepare(). */
    resolved = new Map();
    constructor(ctx, registry, dockerHub) {
        this.ctx = ctx;
        this.registry = registry;
        this.dockerHub = dockerHub;
        const { config } = ctx;
        this.facts = {
            auth: {
                scheme: 'unknown',
                credentials: this.isPrimary && config.credentials
                    ? 'given'
                    : this.isPrimary && config.missing
                        ? 'incomplete'
                        : 'anonymous',
            },
        };
        const policy = config.platforms;
        const explicit = policy.kind === 'list' && policy.explicit;
        // On Docker Hub a manifest GET counts as a pull; once an explicit platform has paid for one,
        // following the image to its layers costs no more (blob downloads are not counted).
        this.layers = config.layers === 'true' || (config.layers === 'auto' && (!dockerHub || explicit));
        if (policy.kind === 'list' && (explicit || this.layers))
            this.platforms = policy.platforms;
    }
    /** Resolves the credentials of the registry and of each repository before any request. */
    async prepare(repositories) {
        const keys = ['', ...new Set(repositories)];
        const found = await Promise.all(keys.map((repo) => resolveCredentials(this.ctx, this.registry, repo || undefined)));
        for (const [n, key] of keys.entries())
            this.resolved.set(key, found[n]);
        const own = this.credentials(repositories[0]);
        if (own.basic || own.identityToken)
            this.facts.auth.credentials = 'given';
    }
    /** The credentials for a repository: its own scoped entry, else the registry's. */
    credentials(repository) {
        return ((repository !== undefined ? this.resolved.get(repository) : undefined) ??
            this.resolved.get('') ?? { source: { kind: 'none' } });
    }
    /** The registry the `registry` input names: the outputs' statuses are its. */
    get isPrimary() {
        return this.registry === this.ctx.config.registry;
    }
    /** Whether any credentials go to this registry (from the inputs or an auth file). */
    get hasCredentials() {
        return [...this.resolved.values()].some((r) => r.basic || r.identityToken);
    }
    /** A manifest GET is needed to read an index's platforms or to follow an image to its layers. */
    get readsManifests() {
        return this.layers || this.platforms !== undefined;
    }
    get refusalContext() {
        return {
            primary: this.ctx.config.registry,
            credentialsGiven: this.hasCredentials || (this.isPrimary && !!this.ctx.config.credentials),
            authFiles: this.ctx.config.authFiles?.searched,
        };
    }
}

;// CONCATENATED MODULE: ./src/token.ts
/**
 * The token exchange of the distribution token spec: the request URL, and what the token
 * service and the registry say back.
 */
/** The client_id the token spec asks clients to send; token services log it. */
const CLIENT_ID = 'registry-auth-preflight';
/** `expires_in` when the service says nothing, and the least it may say (token spec). */
const MIN_EXPIRES_IN = 60;
/** `realm?service=…&scope=…&client_id=…`, keeping whatever query the realm already carries. */
function tokenUrl(realm, service, scopes) {
    const url = new URL(realm.href);
    if (service)
        url.searchParams.set('service', service);
    for (const scope of scopes)
        url.searchParams.append('scope', scope);
    if (!url.searchParams.has('client_id'))
        url.searchParams.set('client_id', CLIENT_ID);
    return url;
}
function pullScope(repository) {
    return `repository:${repository}:pull`;
}
/** A 200 from the token service: JSON with `token` and/or `access_token`. */
function parseTokenResponse(body) {
    const json = parseJson(body);
    if (json === undefined)
        return { ok: false, reason: 'the token service answered 200 with a body that is not JSON' };
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        return { ok: false, reason: 'the token service answered 200 with JSON that is not an object' };
    }
    const record = json;
    const token = [record.token, record.access_token].find((t) => typeof t === 'string' && t !== '');
    if (!token)
        return { ok: false, reason: 'the token service answered 200 without a token' };
    if (!/^[\x21-\x7e]+$/.test(token)) {
        return {
            ok: false,
            reason: 'the token service answered 200 with a token that cannot be sent in a header',
        };
    }
    const expires = readSeconds(record.expires_in);
    const expiresIn = expires !== undefined && expires >= MIN_EXPIRES_IN ? Math.floor(expires) : MIN_EXPIRES_IN;
    const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
    const issued = typeof record.issued_at === 'string' && rfc3339.test(record.issued_at)
        ? new Date(record.issued_at)
        : undefined;
    const issuedAt = issued && !Number.isNaN(issued.getTime()) ? issued : undefined;
    return { ok: true, token: { token, expiresIn, issuedAt } };
}
/** `expires_in` as a number or a numeric string; anything else is no answer. */
function readSeconds(value) {
    if (typeof value === 'number' && Number.isFinite(value))
        return value;
    const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : undefined;
    return n !== undefined && Number.isFinite(n) ? n : undefined;
}
/** Every credential a token response carries, for the mask, whatever else the body holds. */
function tokenSecrets(body) {
    const json = parseJson(body);
    if (typeof json !== 'object' || json === null)
        return [];
    const record = json;
    return [record.token, record.access_token, record.refresh_token].filter((v) => typeof v === 'string' && v.trim() !== '');
}
/** `{"errors":[{"code","message"}]}` as registries (and Red Hat's SSO) send it; undefined otherwise. */
function parseErrorBody(body) {
    const json = parseJson(body);
    if (!json || typeof json !== 'object' || !Array.isArray(json.errors))
        return undefined;
    return json.errors
        .filter((e) => typeof e === 'object' && e !== null)
        .map((e) => ({
        code: scalar(e.code),
        message: typeof e.message === 'string' ? e.message : '',
    }));
}
function parseJson(body) {
    try {
        return JSON.parse(body.toString('utf8'));
    }
    catch {
        return undefined;
    }
}
/** A JSON scalar as text; objects and arrays (whose toString could be anything) as ''. */
function scalar(value) {
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

;// CONCATENATED MODULE: ./src/manifest.ts

const MEDIA_TYPES = {
    ociIndex: 'application/vnd.oci.image.index.v1+json',
    ociManifest: 'application/vnd.oci.image.manifest.v1+json',
    dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
    dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};
/** What a manifest request accepts: every format a current pull does. */
const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');
/** distribution's limit for a manifest: a larger one is not a manifest a pull would take. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const manifest_DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
/** Reads a manifest or an index from its body and its Content-Type. */
function parseManifest(body, contentType) {
    const json = parseJson(body);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        return { kind: 'unreadable', reason: 'the manifest is not a JSON object' };
    }
    const record = json;
    const type = (typeof record.mediaType === 'string' ? record.mediaType : (contentType ?? '')).split(';')[0];
    const isIndex = type === MEDIA_TYPES.ociIndex ||
        type === MEDIA_TYPES.dockerList ||
        Array.isArray(record.manifests);
    if (isIndex) {
        if (!Array.isArray(record.manifests))
            return { kind: 'unreadable', reason: 'the index has no manifests' };
        const manifests = record.manifests.map(descriptor).filter((d) => !!d);
        return { kind: 'index', manifests };
    }
    const config = descriptor(record.config);
    if (!config) {
        const schema = record.schemaVersion === 1 ? ' (a schema 1 manifest, which this check does not read)' : '';
        return { kind: 'unreadable', reason: `the manifest names no config blob${schema}` };
    }
    return { kind: 'manifest', config };
}
function descriptor(value) {
    if (typeof value !== 'object' || value === null)
        return undefined;
    const record = value;
    if (typeof record.digest !== 'string' || !manifest_DIGEST.test(record.digest))
        return undefined;
    const d = { digest: record.digest };
    if (typeof record.mediaType === 'string')
        d.mediaType = record.mediaType;
    const platform = readPlatform(record.platform);
    if (platform)
        d.platform = platform;
    return d;
}
/**
 * A platform as a server wrote it, if it is one: each part a short word. Anything else (markup,
 * a page of text) is not a platform, and never reaches a report.
 */
function readPlatform(value) {
    if (typeof value !== 'object' || value === null)
        return undefined;
    const p = value;
    const word = (v) => typeof v === 'string' && /^[A-Za-z0-9_.-]{1,32}$/.test(v);
    if (!word(p.os) || !word(p.architecture))
        return undefined;
    const platform = { os: p.os, architecture: p.architecture };
    if (word(p.variant))
        platform.variant = p.variant;
    return platform;
}
/**
 * The platforms an index offers to run, in its order: attestation manifests and the like
 * (`unknown/unknown`) are not platforms.
 */
function indexPlatforms(manifests) {
    return manifests.filter((m) => m.platform && m.platform.os !== 'unknown' && m.platform.architecture !== 'unknown');
}
/** The platform an image config says it is for (`os`, `architecture`, `variant`), if it says. */
function configPlatform(body) {
    return readPlatform(parseJson(body));
}

;// CONCATENATED MODULE: ./src/challenge.ts
const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** token68 (RFC 9110 §11.2): base64 and friends. */
const TOKEN68_CHAR = /[0-9A-Za-z\-._~+/]/;
function parseChallenges(headerValues) {
    const challenges = [];
    let malformed = false;
    for (const value of headerValues) {
        const parsed = parseOne(value);
        challenges.push(...parsed.challenges);
        malformed ||= parsed.malformed;
    }
    return { challenges, malformed };
}
/** The Bearer challenge, if the server sent one with a realm. */
function bearerChallenge(parsed) {
    return parsed.challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
}
function parseOne(input) {
    const challenges = [];
    let malformed = false;
    let i = 0;
    const n = input.length;
    const skipSpace = () => {
        while (i < n && (input[i] === ' ' || input[i] === '\t'))
            i++;
    };
    const readToken = () => {
        const start = i;
        while (i < n && TOKEN_CHAR.test(input[i]))
            i++;
        return input.slice(start, i);
    };
    const readQuoted = () => {
        // input[i] is the opening quote
        i++;
        let out = '';
        while (i < n) {
            const c = input[i];
            if (c === '\\' && i + 1 < n) {
                out += input[i + 1];
                i += 2;
            }
            else if (c === '"') {
                i++;
                return out;
            }
            else {
                out += c;
                i++;
            }
        }
        return undefined; // unterminated
    };
    const skipToComma = () => {
        while (i < n && input[i] !== ',')
            i++;
    };
    let current;
    while (i < n) {
        skipSpace();
        if (i >= n)
            break;
        if (input[i] === ',') {
            i++;
            continue;
        }
        const start = i;
        const word = readToken();
        if (!word) {
            malformed = true;
            i = start + 1;
            skipToComma();
            continue;
        }
        skipSpace();
        if (input[i] === '=' && current) {
            // An auth-param of the current challenge, unless this is a token68 ("abc==").
            i++;
            skipSpace();
            let value;
            if (input[i] === '"') {
                value = readQuoted();
                if (value === undefined) {
                    malformed = true;
                    break;
                }
            }
            else {
                value = readToken();
                if (value === '' && i < n && input[i] !== ',') {
                    malformed = true;
                    skipToComma();
                    continue;
                }
            }
            const name = word.toLowerCase();
            if (!(name in current.params))
                current.params[name] = value;
            continue;
        }
        // A new challenge: `scheme` followed by a space (and params), a comma or the end.
        current = { scheme: word.toLowerCase(), params: {} };
        challenges.push(current);
        // A token68 after the scheme (`Negotiate abc==`) carries no parameter we use: skip it.
        // It is told from a first parameter (`Bearer realm=…`) by what follows its `=` signs.
        const save = i;
        const start68 = i;
        while (i < n && TOKEN68_CHAR.test(input[i]))
            i++;
        if (i > start68) {
            const word68 = input.slice(start68, i);
            skipSpace();
            let equals = 0;
            while (i < n && input[i] === '=') {
                i++;
                equals++;
            }
            skipSpace();
            // `name = value` is a parameter (white space around `=` is allowed); `abc==` is not.
            const param = equals === 1 && i < n && input[i] !== ',' && TOKEN_RE.test(word68);
            if (param)
                i = save;
        }
    }
    if (challenges.length === 0 && input.trim() !== '')
        malformed = true;
    return { challenges, malformed };
}

;// CONCATENATED MODULE: ./src/core/findings.ts


const ROLE_OF = {
    registry: 'registry',
    'token-service': 'token service',
    'blob-host': 'blob host',
    proxy: 'registry',
};
/** Statuses that mean the same wherever they come from: 429, 5xx, and HTML where JSON was due. */
function statusFinding(answer, role, host, retryNote) {
    const status = answer.status;
    const tail = retryNote ? `; ${retryNote}` : '';
    if (status === 429)
        return {
            code: 'rate-limited',
            detail: `the ${role} ${host} is rate-limiting requests (HTTP 429)${tail}`,
        };
    if (status === 511)
        return htmlFinding(role, host, status);
    if (status >= 500)
        return { code: 'registry-error', detail: `the ${role} ${host} answered HTTP ${status}${tail}` };
    if (status >= 200 && status < 300)
        return undefined;
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer) && ![401, 403].includes(status)) {
        return htmlFinding(role, host, status);
    }
    return undefined;
}
function htmlFinding(role, host, status) {
    return {
        code: 'unexpected-response',
        detail: `an HTML page (HTTP ${status}) answered where the ${role} ${host} was expected`,
    };
}
function networkFinding(error, role, host) {
    const where = `the ${role} ${host}`;
    switch (error.kind) {
        case 'dns':
            return { code: 'dns-error', detail: `${where} could not be found: ${error.detail}` };
        case 'refused':
            return {
                code: 'connection-failed',
                detail: `${where} refused the connection (${error.detail})`,
            };
        case 'reset':
            return {
                code: 'connection-failed',
                detail: `the connection to ${where} was cut (${error.detail})`,
            };
        case 'unreachable':
            return { code: 'connection-failed', detail: `${where} is unreachable (${error.detail})` };
        case 'timeout':
            return { code: 'timeout', detail: `${where} did not answer: ${error.detail}` };
        case 'tls':
            return {
                code: 'tls-error',
                detail: `the certificate of ${where} did not verify${error.throughProxy ? ' through the proxy' : ''}: ${error.detail}`,
            };
        case 'proxy-unreachable':
        case 'proxy-timeout':
        case 'proxy-refused':
            return { code: 'proxy-error', detail: `on the way to ${where}, ${error.detail}` };
        case 'proxy-auth':
            return { code: 'proxy-auth-required', detail: `on the way to ${where}, ${error.detail}` };
        case 'bad-answer':
            return { code: 'unexpected-response', detail: `${where} sent ${error.detail}` };
        case 'policy':
            return {
                code: 'unexpected-response',
                detail: `a request to ${where} was stopped: ${error.detail}`,
            };
    }
}
function looksLikeHtml(answer) {
    const type = firstHeader(answer.headers['content-type'])?.toLowerCase() ?? '';
    if (type.includes('html'))
        return true;
    return /^\s*<(!doctype|html)/i.test(answer.body.subarray(0, 256).toString('utf8'));
}
/** A registry says who it is in a header, or answers in JSON. */
function isRegistryAnswer(answer) {
    if (answer.headers['docker-distribution-api-version'])
        return true;
    if (answer.body.length === 0)
        return !looksLikeHtml(answer);
    return parseJson(answer.body) !== undefined;
}
function fail(check, finding) {
    check.outcome = 'failed';
    check.finding = finding;
}
/** A check row from an exchange: passed, or failed with what the network or a status says. */
function checkFrom(id, registry, title, hop, host, request, exchange) {
    const check = {
        id,
        registry,
        title,
        hop,
        host,
        request,
        outcome: 'passed',
        status: exchange.answer?.status,
        ms: exchange.ms,
        attempts: exchange.attempts,
        via: exchange.route.via,
    };
    if (exchange.error) {
        fail(check, networkFinding(exchange.error, ROLE_OF[hop], host));
        check.atProxy = exchange.error.kind.startsWith('proxy-');
    }
    else if (exchange.answer) {
        const generic = statusFinding(exchange.answer, ROLE_OF[hop], host, exchange.retryNote);
        if (generic)
            fail(check, generic);
    }
    return check;
}
/**
 * 401/403 from the registry, read with what was presented: no credentials where they were
 * needed is `missing-credentials`; anything else the registry refused is `access-denied`.
 */
function refusalFinding(answer, registry, image, presented, context) {
    if (answer.status !== 401 && answer.status !== 403)
        return undefined;
    if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
        return htmlFinding('registry', registry, answer.status);
    const what = image ? `the image ${image}` : 'the token';
    const status = `HTTP ${answer.status}`;
    if (!context.credentialsGiven && context.authFiles) {
        return {
            code: 'missing-credentials',
            detail: `${registry} refused ${image ? what : 'anonymous access'} (${status}), and no credentials for it are in ${context.authFiles.join(' or ') || 'the auth files'}`,
        };
    }
    if (registry !== context.primary && !context.credentialsGiven) {
        return {
            code: 'access-denied',
            detail: `${registry} refused ${what} to an anonymous request (${status}); credentials are only sent to ${context.primary}`,
        };
    }
    if (presented === 'nothing') {
        return {
            code: 'access-denied',
            detail: `${registry} refused ${what} (${status}) although it asks for no credentials`,
        };
    }
    if (!context.credentialsGiven) {
        return {
            code: 'missing-credentials',
            detail: `${registry} refused ${image ? what : 'anonymous access'} (${status}) and no credentials were given`,
        };
    }
    if (presented === 'basic' && !image && answer.status === 401) {
        // A registry that takes Basic is its own token service: a 401 on /v2/ refuses the login.
        return {
            code: 'invalid-credentials',
            detail: `${registry} refused the credentials on GET /v2/ (${status})`,
        };
    }
    const accepted = presented === 'token'
        ? 'the token service accepted the credentials'
        : 'it accepted the credentials on /v2/';
    return {
        code: 'access-denied',
        detail: `${registry} refused ${what} (${status}) although ${accepted}`,
    };
}

;// CONCATENATED MODULE: ./src/core/endpoint.ts
/**
 * The registry's front door: `GET /v2/`, its challenge (how it wants to be spoken to, and which
 * token service to ask), the choice of realm, and the authenticated `GET /v2/` that proves the
 * token works.
 */


/**
 * Token services known in advance. Their token request goes out together with the first `GET /v2/`
 * (a round trip saved for the home case) and is kept when the challenge names the same realm and
 * service; when /v2/ cannot be reached, it still tells whether the token service can.
 */
const KNOWN_REALMS = {
    'registry.redhat.io': {
        realm: 'https://registry.redhat.io/auth/realms/rhcc/protocol/redhat-docker-v2/auth',
        service: 'docker-registry',
    },
};
/** `GET /v2/` of the scope's registry, recorded as the check `id`. */
async function getV2(scope, id, title, authorization) {
    const url = new URL(`https://${scope.registry}/v2/`);
    const exchange = await scope.ctx.send({ method: 'GET', url, authorization });
    const check = checkFrom(id, scope.registry, title, 'registry', scope.registry, 'GET /v2/', exchange);
    return { check, exchange };
}
/** The first `GET /v2/` of the configured registry: the `ping` row and the challenge. */
async function ping(scope) {
    const { check, exchange } = await getV2(scope, 'ping', 'Reach the registry');
    if (!exchange.answer)
        return { check };
    const endpoint = readEndpoint(exchange.answer);
    if ('code' in endpoint) {
        // A 429 or 5xx was already judged, with what the retries learned.
        if (check.outcome !== 'failed')
            fail(check, endpoint);
        return { check };
    }
    scope.facts.auth.scheme = endpoint.scheme;
    return { check, endpoint };
}
/** The `GET /v2/` of a registry that gets no row of its own: its failure is its images'. */
async function pingQuietly(scope) {
    const url = new URL(`https://${scope.registry}/v2/`);
    const exchange = await scope.ctx.send({ method: 'GET', url });
    if (!exchange.answer)
        return networkFinding(exchange.error, 'registry', scope.registry);
    return readEndpoint(exchange.answer);
}
/** The authenticated `GET /v2/`: the `registry` row and the `registry-status` output. */
async function registryCheck(scope, title, authorization) {
    const { registry } = scope;
    const { check, exchange } = await getV2(scope, 'registry', title, authorization);
    const answer = exchange.answer;
    if (!answer)
        return check;
    scope.facts.registryStatus = answer.status;
    if (answer.status === 200) {
        if (!isRegistryAnswer(answer))
            fail(check, htmlFinding('registry', registry, answer.status));
        return check;
    }
    const finding = refusalFinding(answer, registry, undefined, authorization?.startsWith('Bearer ') ? 'token' : 'basic', scope.refusalContext) ??
        statusFinding(answer, 'registry', registry, exchange.retryNote) ?? {
        code: 'unexpected-response',
        detail: `${registry} answered HTTP ${answer.status} to GET /v2/`,
    };
    fail(check, finding);
    return check;
}
/**
 * Picks the token realm: auth-url wins; else the challenge's; else, if /v2/ was not reached, the
 * known one. Records the choice in `auth`, and a note when auth-url differs from the challenge.
 */
function chooseRealm(scope, endpoint, answered) {
    const { registry } = scope;
    // auth-url belongs to the configured registry; any other asks the realm it announces.
    const authUrl = scope.isPrimary ? scope.ctx.config.authUrl : undefined;
    const auth = scope.facts.auth;
    if (endpoint?.realm)
        auth.discoveredRealm = safeHref(endpoint.realm);
    if (authUrl) {
        if (endpoint?.realm && safeHref(endpoint.realm) !== safeHref(authUrl)) {
            scope.ctx.notes.push(`auth-url (${safeHref(authUrl)}) differs from the realm the registry announces (${safeHref(endpoint.realm)}); the auth-url was used.` +
                (authUrl.hostname === 'sso.redhat.com'
                    ? ' sso.redhat.com is Red Hat’s older realm, still in many scripts and firewall rules; a pull uses the announced one, so the firewall must allow its host.'
                    : ''));
        }
        if (endpoint && endpoint.scheme !== 'bearer')
            return endpoint;
        auth.realm = safeHref(authUrl);
        auth.realmSource = 'auth-url';
        return {
            scheme: 'bearer',
            realm: authUrl,
            service: endpoint?.service ?? KNOWN_REALMS[registry]?.service,
        };
    }
    if (endpoint) {
        if (endpoint.realm) {
            auth.realm = safeHref(endpoint.realm);
            auth.realmSource = 'challenge';
        }
        return endpoint;
    }
    const known = KNOWN_REALMS[registry];
    if (!known || answered)
        return undefined;
    auth.realm = known.realm;
    auth.realmSource = 'known';
    return { scheme: 'bearer', realm: new URL(known.realm), service: known.service };
}
/** Whether two endpoints name the same token service: the same realm and the same service. */
function sameTokenService(a, b) {
    return (a.realm !== undefined &&
        b.realm !== undefined &&
        safeHref(a.realm) === safeHref(b.realm) &&
        a.service === b.service);
}
/** What /v2/ says about how to authenticate, or why its answer is not a registry's. */
function readEndpoint(answer) {
    const host = answer.url.host;
    if (answer.status === 200) {
        if (!isRegistryAnswer(answer))
            return htmlFinding('registry', host, 200);
        return { scheme: 'none' };
    }
    if (answer.status === 401) {
        const parsed = parseChallenges(answer.headersDistinct['www-authenticate'] ?? []);
        const bearer = bearerChallenge(parsed);
        if (bearer) {
            let realm;
            try {
                realm = new URL(bearer.params.realm);
            }
            catch {
                return {
                    code: 'unexpected-response',
                    detail: `${host} announced a token realm that is not a URL`,
                };
            }
            return { scheme: 'bearer', realm, service: bearer.params.service };
        }
        if (parsed.challenges.some((c) => c.scheme === 'basic'))
            return { scheme: 'basic' };
        if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
            return htmlFinding('registry', host, 401);
        return {
            code: 'unexpected-response',
            detail: parsed.malformed
                ? `${host} answered 401 with a WWW-Authenticate header that cannot be parsed (expected Bearer realm="…",service="…")`
                : `${host} answered 401 without a challenge this action can read (WWW-Authenticate: Bearer realm=…)`,
        };
    }
    return (statusFinding(answer, 'registry', host, undefined) ?? {
        code: 'unexpected-response',
        detail: `${host} answered HTTP ${answer.status} to GET /v2/, which a registry does not`,
    });
}
/** The Bearer challenge of a 401, as an endpoint to get a token from. */
function challengedEndpoint(answer) {
    const endpoint = readEndpoint(answer);
    return 'scheme' in endpoint && endpoint.scheme === 'bearer' ? endpoint : undefined;
}
/** A URL as it may be shown: no credentials, no query. */
function safeHref(url) {
    return `${url.protocol}//${url.host}${url.pathname}`;
}

;// CONCATENATED MODULE: ./src/core/tokens.ts




/**
 * The token request for a registry whose token service is known (KNOWN_REALMS), sent before the
 * challenge has named it. Nothing is judged or recorded here: tokenCheck() adopts the answer only
 * if the challenge names the same realm and service (or /v2/ gave no answer at all).
 */
function earlyToken(scope, repository) {
    const { config } = scope.ctx;
    const known = KNOWN_REALMS[scope.registry];
    const credentials = scope.credentials(repository);
    if (!known || !scope.isPrimary || config.authUrl || config.missing || credentials.finding)
        return undefined;
    const endpoint = {
        scheme: 'bearer',
        realm: new URL(known.realm),
        service: known.service,
    };
    const abandon = new AbortController();
    const exchange = requestToken(scope, endpoint, repository, credentials, {
        signal: abandon.signal,
        speculative: true,
    });
    return { endpoint, exchange, abandon };
}
/** The token request that proves (or disproves) the credentials: the `sso-status` check. */
function tokenCheck(scope, endpoint, repository, sent) {
    const { config } = scope.ctx;
    const realm = endpoint.realm;
    const credentials = scope.credentials(repository);
    const check = {
        id: 'token',
        registry: scope.registry,
        title: credentials.basic || credentials.identityToken
            ? 'Token service accepts the credentials'
            : 'Token service grants anonymous access',
        hop: 'token-service',
        host: realm.host,
        request: `GET ${realm.pathname}`,
        outcome: 'skipped',
    };
    const missing = scope.isPrimary && config.missing
        ? {
            code: 'missing-credentials',
            detail: `${scope.registry} needs credentials, but the ${config.missing} input is empty`,
        }
        : credentials.finding;
    if (missing) {
        fail(check, missing);
        return { check, auth: Promise.resolve({ finding: missing }) };
    }
    const auth = fetchToken(scope, endpoint, repository, credentials, check, sent);
    // The images of this repository share this token rather than asking again.
    if (repository)
        scope.tokens.set(repository, auth);
    return { check, auth };
}
/** The Authorization for an image: the token for its repository, fetched once per repository. */
function authFor(scope, image, endpoint) {
    if (endpoint.scheme === 'none')
        return Promise.resolve({});
    if (endpoint.scheme === 'basic') {
        // Basic credentials go only to the registry they were given for; others are asked without.
        if (scope.isPrimary || scope.hasCredentials)
            return Promise.resolve(basicAuth(scope, image.repository));
        return Promise.resolve({});
    }
    return tokenFor(scope, image, endpoint);
}
/** The token for an image's repository, fetched once per repository and shared by its tags. */
function tokenFor(scope, image, endpoint) {
    let auth = scope.tokens.get(image.repository);
    if (!auth) {
        const credentials = scope.credentials(image.repository);
        auth = credentials.finding
            ? Promise.resolve({ finding: credentials.finding })
            : fetchToken(scope, endpoint, image.repository, credentials);
        scope.tokens.set(image.repository, auth);
    }
    return auth;
}
/** Basic credentials for a registry that takes them itself, or why there are none. */
function basicAuth(scope, repository) {
    const credentials = scope.credentials(repository);
    if (credentials.basic)
        return { header: credentials.basic };
    if (credentials.finding)
        return { finding: credentials.finding };
    const { missing, authFiles } = scope.ctx.config;
    const what = scope.isPrimary && missing
        ? `the ${missing} input is empty`
        : authFiles
            ? `none are in ${authFiles.searched.join(' or ')}`
            : 'none were given';
    return {
        finding: {
            code: 'missing-credentials',
            detail: `${scope.registry} needs credentials, but ${what}`,
        },
    };
}
/**
 * Asks the token service for a pull token (or judges the answer to a request already `sent` to
 * it). `check`, when given, receives the outcome (the token check row); otherwise the outcome
 * comes back only as a finding for an image row.
 */
async function fetchToken(scope, endpoint, repository, credentials, check, sent) {
    const { ctx, registry } = scope;
    const realm = endpoint.realm;
    const anonymous = !credentials.basic && !credentials.identityToken;
    const refusal = realmRefusal(realm);
    if (refusal) {
        const finding = { code: 'unexpected-response', detail: refusal };
        if (check)
            fail(check, finding);
        return { finding };
    }
    const exchange = await (sent ?? requestToken(scope, endpoint, repository, credentials));
    // An early request is sent before it is known to be needed: now it is.
    if (sent)
        ctx.adopt(exchange);
    if (check) {
        Object.assign(check, checkFrom(check.id, check.registry, check.title, 'token-service', realm.host, check.request, exchange));
        if (exchange.answer)
            scope.facts.ssoStatus = exchange.answer.status;
    }
    const answer = exchange.answer;
    let finding;
    let token;
    if (!answer) {
        finding = networkFinding(exchange.error, 'token service', realm.host);
    }
    else if (answer.status === 200) {
        const parsed = parseTokenResponse(answer.body);
        if (parsed.ok)
            token = parsed.token;
        else
            finding = { code: 'unexpected-response', detail: `${parsed.reason} (${realm.host})` };
    }
    else if (answer.status === 401 || answer.status === 403) {
        if (answer.status === 403 && looksLikeHtml(answer) && !parseErrorBody(answer.body)) {
            finding = htmlFinding('token service', realm.host, answer.status);
        }
        else if (anonymous && ctx.config.authFiles) {
            finding = {
                code: 'missing-credentials',
                detail: `the token service at ${realm.host} refused anonymous access to ${repository ?? registry} (HTTP ${answer.status}), and no credentials for ${registry} are in ${ctx.config.authFiles.searched.join(' or ')}`,
            };
        }
        else if (anonymous && !scope.isPrimary) {
            finding = {
                code: 'access-denied',
                detail: `the token service at ${realm.host} refused anonymous access to ${repository ?? registry} (HTTP ${answer.status}); credentials are only sent to ${ctx.config.registry}`,
            };
        }
        else if (anonymous) {
            finding = {
                code: 'missing-credentials',
                detail: `the token service at ${realm.host} refused anonymous access (HTTP ${answer.status}) and no credentials were given`,
            };
        }
        else {
            finding = {
                code: 'invalid-credentials',
                detail: `the token service at ${realm.host} refused the credentials (HTTP ${answer.status})`,
            };
        }
    }
    else {
        finding = statusFinding(answer, 'token service', realm.host, exchange.retryNote) ?? {
            code: 'unexpected-response',
            detail: `the token service at ${realm.host} answered HTTP ${answer.status} at ${realm.pathname}; check auth-url, or that this is the registry's token endpoint`,
        };
    }
    if (token) {
        ctx.noteSkew(token.issuedAt);
        if (check)
            scope.facts.tokenExpiresIn = token.expiresIn;
        ctx.deps.debug(`token for ${registry}${repository ? ` (${repository})` : ''}: expires in ${token.expiresIn} s`);
        return { header: `Bearer ${token.token}`, status: answer?.status };
    }
    if (check && finding)
        fail(check, finding);
    return { finding, status: answer?.status };
}
/**
 * `GET <realm>?service=…&scope=repository:<repository>:pull` with Basic credentials (or none), or,
 * for an identity token, the OAuth2 form the token spec describes: `POST <realm>` with
 * `grant_type=refresh_token`. The token is masked the moment it arrives.
 */
function requestToken(scope, endpoint, repository, credentials, options = {}) {
    const scopes = repository ? [pullScope(repository)] : [];
    const send = { secretsIn: tokenSecrets, speculative: options.speculative };
    if (credentials.identityToken) {
        return scope.ctx.send({
            method: 'POST',
            url: new URL(endpoint.realm.href),
            form: refreshForm(endpoint, scopes, credentials.identityToken),
            accept: 'application/json',
            signal: options.signal,
        }, send);
    }
    return scope.ctx.send({
        method: 'GET',
        url: tokenUrl(endpoint.realm, endpoint.service, scopes),
        authorization: credentials.basic,
        accept: 'application/json',
        signal: options.signal,
    }, send);
}
function refreshForm(endpoint, scopes, refreshToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID });
    if (endpoint.service)
        form.set('service', endpoint.service);
    for (const scope of scopes)
        form.append('scope', scope);
    form.set('refresh_token', refreshToken);
    return form;
}
/** A realm that credentials must not be sent to, whatever the registry says. */
function realmRefusal(realm) {
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.hostname))) {
        return `the token realm ${safeHref(realm)} is not https, and credentials are never sent over plain http`;
    }
    if (isLinkLocal(realm.hostname)) {
        return `the token realm ${safeHref(realm)} points at a link-local address, where no token service lives`;
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/core/images.ts
/**
 * Each image's manifest: can it be read with the credentials the pull will present, and (where the
 * platform is checked) does its index hold a manifest for every wanted platform. A HEAD where only
 * the manifest's existence is asked (free on Docker Hub); a GET of the index where the platform or
 * the layer path needs its content, in the same round trip.
 */









/** The image rows of a registry that could not be asked: not reached, or failed at its door. */
function unprobed(image, anonymous, finding) {
    const row = {
        ...imageBase(image, anonymous),
        outcome: finding ? 'failed' : 'skipped',
    };
    if (finding)
        row.finding = finding;
    return row;
}
async function probeImage(scope, image, endpoint) {
    const { ctx } = scope;
    const own = scope.credentials(image.repository);
    const anonymous = !own.basic && !own.identityToken;
    const row = { ...imageBase(image, anonymous), outcome: 'skipped' };
    const started = ctx.deps.now();
    const failed = (finding) => ({
        row: { ...row, outcome: 'failed', finding, ms: row.ms ?? ctx.deps.now() - started },
    });
    const auth = await authFor(scope, image, endpoint);
    if (auth.finding)
        return failed(auth.finding);
    const url = manifestUrl(image, image.reference);
    const method = scope.readsManifests ? 'GET' : 'HEAD';
    const request = (authorization) => ctx.send({
        method,
        url,
        authorization,
        accept: MANIFEST_ACCEPT,
        bodyLimit: MANIFEST_LIMIT,
    });
    let header = auth.header;
    let exchange = await request(header);
    // A registry whose /v2/ is open may still want a token for a repository: get one and ask again.
    const upgrade = !header && exchange.answer?.status === 401 ? challengedEndpoint(exchange.answer) : undefined;
    if (upgrade) {
        const token = await tokenFor(scope, image, upgrade);
        if (token.finding)
            return failed(token.finding);
        header = token.header;
        exchange = await request(header);
    }
    row.ms = ctx.deps.now() - started;
    const answer = exchange.answer;
    if (!answer)
        return failed(networkFinding(exchange.error, 'registry', image.registry));
    row.status = answer.status;
    row.rateLimit = rateLimitOf(answer);
    const name = formatImageRef(image);
    if (answer.status === 200) {
        if (looksLikeHtml(answer) && !isRegistryAnswer(answer))
            return failed(htmlFinding('registry', image.registry, 200));
        row.digest = firstHeader(answer.headers['docker-content-digest']);
        if (method === 'HEAD')
            return { row: { ...row, outcome: 'passed' }, authorization: header };
        return readManifest(scope, image, row, answer, header);
    }
    let finding = refusalFinding(answer, image.registry, name, presented(header), scope.refusalContext);
    if (!finding && answer.status === 404) {
        finding = {
            code: 'image-not-found',
            detail: `${image.registry} has no manifest for ${name} (HTTP 404)`,
        };
    }
    finding ??= statusFinding(answer, 'registry', image.registry, exchange.retryNote) ?? {
        code: 'unexpected-response',
        detail: `${image.registry} answered HTTP ${answer.status} for ${name}`,
    };
    const probe = failed(finding);
    if (finding.code !== 'unexpected-response' && finding.code !== 'rate-limited') {
        probe.row.registryMessage =
            method === 'GET'
                ? registryWords(answer)
                : // A HEAD has no body: one capped GET reads the registry's own words, except on Docker
                    // Hub, where a manifest GET counts as a pull.
                    scope.dockerHub
                        ? undefined
                        : await registryMessage(scope, url, header);
    }
    return probe;
}
/** Reads a manifest that passed: the platforms of an index, and where its layer path starts. */
function readManifest(scope, image, row, answer, authorization) {
    const name = formatImageRef(image);
    const manifest = parseManifest(answer.body, firstHeader(answer.headers['content-type']));
    if (manifest.kind === 'unreadable') {
        return {
            row: {
                ...row,
                outcome: 'failed',
                finding: {
                    code: 'unexpected-response',
                    detail: `${image.registry} answered 200 for ${name} with a manifest that cannot be read: ${manifest.reason}`,
                },
            },
        };
    }
    if (manifest.kind === 'manifest') {
        row.kind = 'manifest';
        return {
            row: { ...row, outcome: 'passed' },
            authorization,
            target: {
                kind: 'config',
                digest: manifest.config.digest,
                platformUnknown: scope.platforms !== undefined,
            },
        };
    }
    row.kind = 'index';
    const offered = indexPlatforms(manifest.manifests);
    row.platforms = offered.map((m) => formatPlatform(m.platform));
    const wanted = scope.platforms;
    let chosen;
    if (wanted) {
        const missing = [];
        for (const platform of wanted) {
            const match = offered.find((m) => platformMatches(platform, m.platform));
            if (!match)
                missing.push(platform);
            chosen ??= match;
        }
        if (missing.length) {
            const held = row.platforms.length ? row.platforms.join(', ') : 'no platform at all';
            return {
                row: {
                    ...row,
                    outcome: 'failed',
                    finding: {
                        code: 'no-matching-platform',
                        detail: `${name} has no manifest for ${missing.map(formatPlatform).join(' or ')} in its index (it holds ${held})`,
                    },
                },
            };
        }
        row.platform = formatPlatform(chosen.platform);
    }
    // Without a platform to match, the layer path follows the index's first platform.
    chosen ??= offered[0] ?? manifest.manifests[0];
    if (!chosen) {
        return {
            row: {
                ...row,
                outcome: 'failed',
                finding: {
                    code: 'unexpected-response',
                    detail: `${image.registry} answered 200 for ${name} with an index that lists no manifest`,
                },
            },
        };
    }
    return {
        row: { ...row, outcome: 'passed' },
        authorization,
        target: { kind: 'manifest', digest: chosen.digest },
    };
}
function manifestUrl(image, reference) {
    return new URL(`https://${image.registry}/v2/${image.repository}/manifests/${reference}`);
}
/** A HEAD has no body: one capped GET reads the registry's own words for a refused image. */
async function registryMessage(scope, url, authorization) {
    const exchange = await scope.ctx.send({ method: 'GET', url, authorization, accept: MANIFEST_ACCEPT }, { retries: 0 });
    return exchange.answer ? registryWords(exchange.answer) : undefined;
}
/** The registry's own error messages, as it wrote them; the report scrubs them. */
function registryWords(answer) {
    const text = parseErrorBody(answer.body)
        ?.map((e) => e.message || e.code)
        .filter(Boolean)
        .join('; ');
    return text || undefined;
}
/** `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 76;w=21600`, as Docker Hub sends them. */
function rateLimitOf(answer) {
    const read = (name) => {
        const match = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(firstHeader(answer.headers[name]) ?? '');
        return match ? { value: Number(match[1]), window: match[2] ? Number(match[2]) : undefined } : {};
    };
    const limit = read('ratelimit-limit');
    const remaining = read('ratelimit-remaining');
    if (limit.value === undefined && remaining.value === undefined)
        return undefined;
    const source = firstHeader(answer.headers['docker-ratelimit-source']);
    return {
        limit: limit.value,
        remaining: remaining.value,
        windowSeconds: limit.window ?? remaining.window,
        source,
    };
}
function imageBase(image, anonymous) {
    return {
        image: image.input,
        name: formatImageRef(image),
        registry: image.registry,
        repository: image.repository,
        reference: image.reference,
        anonymous,
    };
}

;// CONCATENATED MODULE: ./src/core/blobs.ts







/** An image config is a few KiB; reading it whole tells a single-platform image's platform. */
const CONFIG_LIMIT = 64 * 1024;
/**
 * The layer path of a registry, from one image whose manifest passed: the `blob` row. `warn`
 * receives the platform warning of a single-platform image that does not match.
 */
async function layerPath(scope, image, probe) {
    const { ctx } = scope;
    const started = ctx.deps.now();
    const check = {
        id: 'blob',
        registry: scope.registry,
        title: `Layers download from ${scope.registry}`,
        hop: 'registry',
        host: scope.registry,
        request: 'GET /v2/…/blobs/…',
        outcome: 'skipped',
    };
    const target = probe.target.kind === 'manifest'
        ? await platformManifest(scope, image, probe.target.digest, probe.authorization)
        : probe.target;
    if ('code' in target) {
        fail(check, target);
        check.ms = ctx.deps.now() - started;
        return check;
    }
    const blob = await fetchBlob(scope, image, target.digest, probe.authorization, {
        whole: target.platformUnknown,
        urgent: true,
    });
    Object.assign(check, blob.check, { ms: ctx.deps.now() - started });
    if (check.outcome === 'passed' && target.platformUnknown) {
        warnOnPlatform(scope, image, blob.exchange);
    }
    return check;
}
/**
 * The platform of a single-platform image that is not the one followed to its layers: its config
 * is read, and a mismatch is a warning (a pull takes such an image and warns). Failures here are
 * the layer path's to report, once per registry; this only says what it could not check.
 */
async function checkConfigPlatform(scope, image, probe) {
    const blob = await fetchBlob(scope, image, probe.target.digest, probe.authorization, {
        whole: true,
        urgent: false,
    });
    if (blob.check.outcome === 'passed')
        warnOnPlatform(scope, image, blob.exchange);
    else
        scope.ctx.info.push(`The platform of ${formatImageRef(image)} (a single-platform image) could not be read: its config blob did not download.`);
}
function warnOnPlatform(scope, image, exchange) {
    const wanted = scope.platforms;
    const found = exchange.answer && configPlatform(exchange.answer.body);
    if (!wanted || !found)
        return;
    const missing = wanted.filter((w) => !platformMatches(w, found));
    if (!missing.length)
        return;
    scope.ctx.notes.push(`${formatImageRef(image)} is a single-platform image for ${formatPlatform(found)}, not ${missing.map(formatPlatform).join(' or ')}: a pull takes it with a warning, and it runs only under emulation, if at all.`);
}
/** The manifest an index names for the platform: read for its config blob. */
async function platformManifest(scope, image, digest, authorization) {
    const name = formatImageRef(image);
    // The layer path is what the run waits for last: its hops go ahead of other images' checks.
    const exchange = await scope.ctx.send({
        method: 'GET',
        url: manifestUrl(image, digest),
        authorization,
        accept: MANIFEST_ACCEPT,
        bodyLimit: MANIFEST_LIMIT,
    }, { urgent: true });
    const answer = exchange.answer;
    if (!answer)
        return networkFinding(exchange.error, 'registry', image.registry);
    if (answer.status !== 200) {
        return registryRefusal(scope, image, exchange, authorization, {
            code: answer.status === 404 ? 'image-not-found' : 'unexpected-response',
            detail: `${image.registry} answered HTTP ${answer.status} for the platform manifest ${digest} of ${name}, which its index names`,
        });
    }
    const manifest = parseManifest(answer.body, undefined);
    if (manifest.kind !== 'manifest') {
        return {
            code: 'unexpected-response',
            detail: `${image.registry} answered with something other than an image manifest for ${digest}, which the index of ${name} names`,
        };
    }
    return { kind: 'config', digest: manifest.config.digest, platformUnknown: false };
}
/** `GET /v2/<repo>/blobs/<digest>` and wherever it is redirected: a check row, not yet timed. */
async function fetchBlob(scope, image, digest, authorization, options) {
    const url = new URL(`https://${image.registry}/v2/${image.repository}/blobs/${digest}`);
    const exchange = await scope.ctx.send({
        method: 'GET',
        url,
        authorization,
        range: options.whole ? undefined : 'bytes=0-0',
        // A server that ignores Range sends the whole blob: a few bytes are enough to know it comes.
        bodyLimit: options.whole ? CONFIG_LIMIT : 1024,
    }, { urgent: options.urgent });
    // The hop that answered (or failed) last: the registry, or the host it redirected to.
    const atRegistry = exchange.url.host === url.host;
    const hop = atRegistry ? 'registry' : 'blob-host';
    const host = atRegistry ? image.registry : hostPort(exchange.url);
    const check = {
        id: 'blob',
        registry: scope.registry,
        title: `Layers download from ${atRegistry ? image.registry : host}`,
        hop,
        host,
        request: `GET /v2/${image.repository}/blobs/${digest.slice(0, 19)}…`,
        outcome: 'passed',
        status: exchange.answer?.status,
        attempts: exchange.attempts,
        via: scope.ctx.transport.route(exchange.url).via,
    };
    if (exchange.error) {
        const role = atRegistry ? 'registry' : 'blob host';
        const finding = networkFinding(exchange.error, role, host);
        fail(check, withRedirect(finding, atRegistry, image.registry));
        check.atProxy = exchange.error.kind.startsWith('proxy-');
        return { check, exchange };
    }
    const answer = exchange.answer;
    if (answer.status === 200 || answer.status === 206)
        return { check, exchange };
    fail(check, blobRefusal(scope, image, answer.status, exchange, atRegistry, host, authorization));
    return { check, exchange };
}
function blobRefusal(scope, image, status, exchange, atRegistry, host, authorization) {
    const answer = exchange.answer;
    const name = formatImageRef(image);
    if (atRegistry) {
        return registryRefusal(scope, image, exchange, authorization, status === 404
            ? {
                code: 'image-not-found',
                detail: `${image.registry} has the manifest of ${name} but not its config blob (HTTP 404)`,
            }
            : {
                code: 'unexpected-response',
                detail: `${image.registry} answered HTTP ${status} for a blob of ${name}`,
            });
    }
    const finding = status === 401 || status === 403
        ? {
            code: 'access-denied',
            detail: `the blob host ${host} refused the download of ${name}'s layers (HTTP ${status})`,
        }
        : (statusFinding(answer, 'blob host', host, exchange.retryNote) ??
            (looksLikeHtml(answer)
                ? htmlFinding('blob host', host, status)
                : {
                    code: status === 404 ? 'registry-error' : 'unexpected-response',
                    detail: `the blob host ${host} answered HTTP ${status} for a layer of ${name}`,
                }));
    return withRedirect(finding, false, image.registry);
}
/**
 * The registry's answer other than success for what an image needs: a refusal read with what was
 * presented, a status that means the same everywhere, or else `otherwise`.
 */
function registryRefusal(scope, image, exchange, authorization, otherwise) {
    const answer = exchange.answer;
    const name = formatImageRef(image);
    return (refusalFinding(answer, image.registry, name, presented(authorization), scope.refusalContext) ??
        statusFinding(answer, 'registry', image.registry, exchange.retryNote) ??
        otherwise);
}
/** Says that the host was reached by the registry's redirect: the user never named it. */
function withRedirect(finding, atRegistry, registry) {
    if (atRegistry)
        return finding;
    return { ...finding, detail: `${finding.detail}, where ${registry} redirects layer downloads` };
}

;// CONCATENATED MODULE: ./src/core/registry-run.ts





/** A registry checked step by step: the configured one, or any with an auth file. */
async function runConfiguredRegistry(scope, images) {
    const checks = [];
    const firstRepo = images[0]?.repository;
    // 1. Reach /v2/ and read the challenge; a known token service is asked at the same time.
    const early = earlyToken(scope, firstRepo);
    const reached = await ping(scope);
    checks.push(reached.check);
    // 2. The token service, at the announced realm, the auth-url override, or the known realm.
    const endpoint = chooseRealm(scope, reached.endpoint, reached.check.status !== undefined);
    const adopted = early && endpoint && sameTokenService(early.endpoint, endpoint) ? early.exchange : undefined;
    // Not the token service this registry names (or none at all): no retries on its behalf.
    if (early && !adopted)
        early.abandon.abort();
    let auth;
    if (endpoint?.scheme === 'bearer') {
        const token = tokenCheck(scope, endpoint, firstRepo, adopted);
        checks.push(token.check);
        auth = await token.auth;
    }
    else if (endpoint?.scheme === 'basic') {
        auth = basicAuth(scope);
    }
    else if (endpoint?.scheme === 'none') {
        auth = {};
        scope.facts.registryStatus = reached.check.status;
    }
    const authorized = reached.check.outcome === 'passed' && auth !== undefined && !auth.finding;
    const title = scope.hasCredentials
        ? 'Registry accepts the credentials'
        : 'Registry accepts anonymous access';
    // 3. /v2/ with the token, and 4. each image (5. and the layer path), side by side.
    const [registry, result] = await Promise.all([
        authorized && endpoint?.scheme !== 'none'
            ? registryCheck(scope, title, auth?.header)
            : Promise.resolve(undefined),
        authorized && endpoint
            ? probeRegistryImages(scope, images, endpoint)
            : Promise.resolve({
                checks: [],
                images: images.map((i) => unprobed(i, !scope.hasCredentials)),
            }),
    ]);
    if (registry)
        checks.push(registry);
    else if (endpoint?.scheme !== 'none') {
        const check = {
            id: 'registry',
            registry: scope.registry,
            title,
            hop: 'registry',
            host: scope.registry,
            request: 'GET /v2/',
            outcome: 'skipped',
        };
        // A registry that takes Basic itself, and no credentials to give it, fails here.
        if (endpoint?.scheme === 'basic' && auth?.finding)
            fail(check, auth.finding);
        checks.push(check);
    }
    return { checks: [...checks, ...result.checks], images: result.images };
}
/** Any other registry: asked anonymously, with no row of its own but its layer path. */
async function runOtherRegistry(scope, images) {
    const endpoint = await pingQuietly(scope);
    if ('code' in endpoint)
        return { checks: [], images: images.map((i) => unprobed(i, true, endpoint)) };
    return probeRegistryImages(scope, images, endpoint);
}
/**
 * Every image of a registry, then its layer path from the first image (in input order) whose
 * manifest passed, started as soon as that image is known: the layer path waits for no other.
 */
async function probeRegistryImages(scope, images, endpoint) {
    if (endpoint.scheme === 'bearer') {
        // Every repository's token is asked for first, so that the tokens queue for places ahead
        // of the manifest checks, which join the queue only once their token is in. A place never
        // waits a round trip for a token and then another for its manifest (bench: 100 images, one
        // wave fewer than two groups of fixed size). tokenFor() shares each repository's request.
        for (const image of images)
            void tokenFor(scope, image, endpoint);
    }
    const probes = images.map((image) => probeImage(scope, image, endpoint));
    const layers = scope.layers ? followLayers(scope, images, probes) : Promise.resolve([]);
    const [done, blobChecks] = await Promise.all([Promise.all(probes), layers]);
    if (!scope.layers && scope.dockerHub && images.length) {
        scope.ctx.info.push(scope.platforms
            ? `On ${scope.registry} the layer path was not checked (layers: false).`
            : `On ${scope.registry} the layer path and the platform were not checked: Docker Hub counts every manifest GET as a pull against the limit, and a HEAD is free (set layers: true, or a platform, to check them anyway).`);
    }
    return { checks: blobChecks, images: done.map((p) => p.row) };
}
async function followLayers(scope, images, probes) {
    let followed;
    const platformChecks = [];
    for (const [n, pending] of probes.entries()) {
        const probe = await pending;
        const target = probe.target;
        if (probe.row.outcome !== 'passed' || !target)
            continue;
        if (!followed)
            followed = layerPath(scope, images[n], { ...probe, target });
        else if (target.kind === 'config' && target.platformUnknown) {
            platformChecks.push(checkConfigPlatform(scope, images[n], { ...probe, target }));
        }
    }
    const [check] = await Promise.all([followed, ...platformChecks]);
    return check ? [check] : [];
}

;// CONCATENATED MODULE: ./src/preflight.ts
/**
 * The procedure a support engineer walks through by hand, as one function: for the configured
 * registry and every other registry an image lives on, reach /v2/ and read its challenge, ask the
 * token service for a token, present it, ask for each image's manifest, and follow one image to
 * its layers. Plain config in, typed report out; nothing here knows about the Actions runner.
 * This module only orders the registries' runs and reads their results into one verdict.
 */









const CLOCK_SKEW_LIMIT_MS = 30_000;
/** Findings are our sentences around a host name or a server's words: longer than those alone. */
const DETAIL_LIMIT = 600;
/**
 * Requests in flight at once, for either edge: tokens, manifests and blobs together, on up to as
 * many connections.
 */
const CONCURRENCY = 32;
async function preflight(config, deps) {
    const ctx = new RunContext(config, deps);
    try {
        // The configured registry first (its requests go out first), then each other registry in the
        // order its first image appears; all at once.
        const registries = [config.registry];
        for (const registry of [
            ...config.images.map((i) => i.registry),
            ...(config.extraRegistries ?? []),
        ])
            if (!registries.includes(registry))
                registries.push(registry);
        const scopes = registries.map((r) => new RegistryScope(ctx, r, isDockerHub(r)));
        const results = await Promise.all(scopes.map(async (scope) => {
            const images = config.images.filter((i) => i.registry === scope.registry);
            await scope.prepare(images.map((i) => i.repository));
            // With an auth file every registry is checked as the puller will meet it, with a row for
            // each step; otherwise registries other than the configured one are asked anonymously.
            return scope.isPrimary || config.authFiles
                ? runConfiguredRegistry(scope, images)
                : runOtherRegistry(scope, images);
        }));
        return buildReport(ctx, scopes, results);
    }
    finally {
        ctx.close();
    }
}
/** The checks table reads in the order of the procedure. */
const CHECK_ORDER = ['ping', 'token', 'registry', 'blob'];
function buildReport(ctx, scopes, results) {
    const { config } = ctx;
    const primary = scopes[0];
    const checks = results
        .flatMap((r) => r.checks)
        .sort((a, b) => CHECK_ORDER.indexOf(a.id) - CHECK_ORDER.indexOf(b.id));
    // Images in input order, whatever registry they are on.
    const byName = new Map(results.flatMap((r) => r.images).map((i) => [i.name, i]));
    const images = config.images.map((ref) => byName.get(formatImageRef(ref)));
    for (const host of config.skippedRegistries ?? []) {
        ctx.info.push(`${host} was not checked, and nothing was sent to it: the auth file names it, but it is OpenShift's telemetry endpoint, not a registry.`);
    }
    if (ctx.clockSkewMs > CLOCK_SKEW_LIMIT_MS) {
        ctx.notes.push(`The runner's clock differs from the servers' by about ${Math.round(ctx.clockSkewMs / 1000)} s: a skewed clock makes freshly issued tokens fail. Check the runner's time synchronisation.`);
    }
    scrubServerText(ctx, checks, images, primary);
    // The first failing hop decides, in the order of the procedure: the registry's door, then the
    // images in input order, then the layer path.
    const ordered = [];
    const fromCheck = (c) => {
        if (c.outcome === 'failed' && c.finding)
            ordered.push({ finding: c.finding, hop: c.atProxy ? 'proxy' : c.hop, host: c.host });
    };
    checks.filter((c) => c.id !== 'blob').forEach(fromCheck);
    for (const i of images) {
        if (i.outcome === 'failed' && i.finding)
            ordered.push({ finding: i.finding, hop: 'registry', host: i.registry });
    }
    checks.filter((c) => c.id === 'blob').forEach(fromCheck);
    const first = ordered[0];
    const result = first?.finding.code ?? 'ok';
    const { facts } = primary;
    const report = {
        registry: config.registry,
        pullReady: !first,
        result,
        failedHop: first?.hop,
        failedHost: first?.host,
        checks,
        images,
        registries: scopes.map((scope, n) => registryVerdict(scope, results[n], images)),
        authFiles: config.authFiles?.searched,
        ssoStatus: facts.ssoStatus,
        registryStatus: facts.registryStatus,
        tokenExpiresIn: facts.tokenExpiresIn,
        auth: facts.auth,
        proxy: {
            url: config.proxy.url ? redactProxy(config.proxy.url) : undefined,
            source: config.proxy.source,
            schemeAssumed: config.proxy.schemeAssumed,
            noProxy: config.proxy.noProxy,
            noProxySource: config.proxy.noProxySource,
        },
        platforms: config.platforms.kind === 'any'
            ? 'any'
            : {
                wanted: config.platforms.platforms.map(formatPlatform),
                source: config.platforms.source,
            },
        hosts: ctx.hosts,
        routes: ctx.routes,
        notes: ctx.notes,
        info: ctx.info,
        durationMs: ctx.deps.now() - ctx.started,
    };
    const message = first
        ? `${capitalize(first.finding.detail)}: ${firstStep(result, adviceContext(report))}.`
        : `Pulls from ${config.registry} will succeed: ${describeSuccess(checks, images)}.`;
    return { ...report, message };
}
/**
 * Server text (an error message, a certificate's names, a realm) may quote a secret back: every
 * secret the run met is cut from it, in one place, before the report holds it.
 */
function scrubServerText(ctx, checks, images, primary) {
    const { scrubber } = ctx;
    const scrub = (finding) => {
        if (finding)
            finding.detail = scrubber.serverText(finding.detail, DETAIL_LIMIT);
    };
    for (const c of checks)
        scrub(c.finding);
    for (const i of images) {
        scrub(i.finding);
        if (i.registryMessage)
            i.registryMessage = scrubber.serverText(i.registryMessage);
    }
    for (const list of [ctx.notes, ctx.info])
        for (const [n, note] of list.entries())
            list[n] = scrubber.serverText(note, 2 * DETAIL_LIMIT);
    const auth = primary.facts.auth;
    if (auth.realm)
        auth.realm = scrubber.serverText(auth.realm, DETAIL_LIMIT);
    if (auth.discoveredRealm)
        auth.discoveredRealm = scrubber.serverText(auth.discoveredRealm, DETAIL_LIMIT);
}
/** One registry's verdict: its first failure (its door, its images in input order, its layers). */
function registryVerdict(scope, result, images) {
    const failed = [
        ...result.checks.filter((c) => c.id !== 'blob'),
        ...images.filter((i) => i.registry === scope.registry),
        ...result.checks.filter((c) => c.id === 'blob'),
    ].find((c) => c.outcome === 'failed' && c.finding);
    const source = scope.credentials(scope.ctx.config.images.find((i) => i.registry === scope.registry)?.repository).source;
    return {
        registry: scope.registry,
        pullReady: !failed,
        result: failed?.finding?.code ?? 'ok',
        detail: failed?.finding?.detail,
        credentials: source.kind === 'none'
            ? { from: 'none' }
            : source.kind === 'inputs'
                ? { from: 'inputs' }
                : source.kind === 'file'
                    ? { from: 'file', file: source.file, key: source.key }
                    : { from: 'helper', file: source.file, helper: source.helper },
    };
}
function describeSuccess(checks, images) {
    const parts = [];
    if (checks.some((c) => c.id === 'token' && c.outcome === 'passed'))
        parts.push('the token service accepted the credentials');
    if (checks.some((c) => c.id === 'registry' && c.outcome === 'passed'))
        parts.push('the registry accepted the token');
    else
        parts.push('the registry answered');
    parts.push(images.length
        ? `${images.length === 1 ? 'the image' : `all ${images.length} images`} can be pulled`
        : 'no images were listed to check');
    const blobs = checks.filter((c) => c.id === 'blob' && c.outcome === 'passed');
    if (blobs.length)
        parts.push(`layers download (from ${blobs.map((c) => c.host).join(', ')})`);
    return parts.join(', ');
}
/** A sentence's first word capitalised, unless it is a name (a host, an image) written as is. */
function capitalize(text) {
    if (!/^[a-z]+(\s|,|$)/.test(text))
        return text;
    return text.charAt(0).toUpperCase() + text.slice(1);
}

;// CONCATENATED MODULE: ./src/report.ts
/** The report of a run that stopped at its inputs: nothing was sent anywhere. */
function invalidInputReport(message, registry) {
    return {
        registry,
        pullReady: false,
        result: 'invalid-input',
        message,
        checks: [],
        images: [],
        registries: [],
        auth: { scheme: 'unknown', credentials: 'anonymous' },
        proxy: { source: 'none', schemeAssumed: false, noProxy: [] },
        platforms: 'any',
        hosts: [],
        routes: [],
        notes: [],
        info: [],
        durationMs: 0,
    };
}

;// CONCATENATED MODULE: ./src/markdown.ts
/**
 * Text made inert for the job summary. GitHub renders the summary as GitHub-flavoured Markdown:
 * whatever a server sent (an error message, a host it redirected to, a certificate's names) must
 * show as the characters it is, never as bold text, a link, an image, a mention or an HTML element.
 * Two forms: a code span for a value shown whole, and prose for our sentences around such values.
 */

/**
 * A value as inline code: the fence is one backtick longer than the longest run of backticks in
 * it, and a space pads a value that starts or ends with a backtick, so nothing ends the span early.
 * Inside a code span nothing is Markdown or HTML.
 */
function codeSpan(text, max = 200) {
    const value = oneLine(text, max);
    if (!value)
        return '` `';
    const longest = Math.max(0, ...(value.match(/`+/g) ?? []).map((run) => run.length));
    const fence = '`'.repeat(longest + 1);
    const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
    return `${fence}${pad}${value}${pad}${fence}`;
}
/**
 * The characters Markdown, HTML or GitHub's math could read as syntax in the middle of a line,
 * backslash-escaped (CommonMark lets any ASCII punctuation be escaped): emphasis, code, links and
 * images (`[`, `]`), HTML and entities, strike-through, `$` math. `|` is left for the table writer,
 * which escapes it in cells. Our text never starts a line, so `#`, `-`, `+` and `1.` stay as they are.
 */
function escapeMarkdown(text) {
    return text.replace(/[\\`*_[\]<>&~$]/g, (c) => `\\${c}`);
}
/**
 * Words a renderer would turn into something: URLs, host names, addresses, paths, `@` (a mention),
 * `:` (an emoji short code, a scheme), `_` and other markup characters. These go in code spans.
 */
const LIVE_WORD = /[/:@_\\`*[\]<>&~#|{}=^$]|[a-z0-9]\.[a-z]/i;
/**
 * Our sentence with a server's words in it, as inert text: each word that could be read as a
 * link, a mention, an emoji or markup is a code span, the rest is escaped. One line, capped.
 */
function prose(text, max = 600) {
    return oneLine(text, max)
        .split(/( )/)
        .map((word) => (word === ' ' ? word : proseWord(word)))
        .join('');
}
function proseWord(word) {
    const parts = /^([("'“‘]*)(.*?)([)"'”’,.;:!?]*)$/u.exec(word) ?? ['', '', word, ''];
    const lead = parts[1];
    let [core, tail] = [parts[2], parts[3]];
    // A closing parenthesis the word opened, or the colon that closes `:name:`, is the word's own.
    const count = (text, c) => text.split(c).length - 1;
    while (tail.startsWith(')') && count(core, '(') > count(core, ')')) {
        core += ')';
        tail = tail.slice(1);
    }
    if (core.startsWith(':') && tail.startsWith(':')) {
        core += ':';
        tail = tail.slice(1);
    }
    if (core && LIVE_WORD.test(core) && !/^\d+(\.\d+)?$/.test(core)) {
        return `${escapeMarkdown(lead)}${codeSpan(core)}${escapeMarkdown(tail)}`;
    }
    return escapeMarkdown(word);
}
/** A table row: each cell one line, its `|` escaped (GFM reads `\|` as `|`, in code spans too). */
function row(cells) {
    return `| ${cells.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
}
/** Text for a Mermaid label: one line, short, quotes and markup characters as Mermaid entities. */
function mermaidText(text, max = 60) {
    return oneLine(text, max).replace(/["<>&#`|;]/g, (c) => `#${c.charCodeAt(0)};`);
}
/** Text for HTML (a `<summary>`): one line, `<`, `>`, `&` and quotes as entities. */
function htmlText(text, max = 200) {
    return oneLine(text, max).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]);
}

;// CONCATENATED MODULE: ./src/diagram.ts
/**
 * The network path as a diagram, drawn from the requests that decided each hop: the runner, the
 * proxy (one node, an edge per tunnel, a refused tunnel marked on its edge), each registry's
 * token service, its `/v2/`, its images and its layer path. Each node carries the request that
 * decided it, its answer, and when it failed the reason in a few words. A node is marked passed
 * only when that request passed, failed only when it failed there, and grey when it was never
 * reached. The model is data (tests read it); `mermaid()` writes it.
 */


/** Failing images drawn one by one up to this many; more are one node. */
const IMAGE_NODES = 3;
function pathModel(report) {
    const nodes = [{ id: 'runner', kind: 'runner', title: 'Runner', state: 'neutral' }];
    const edges = [];
    const routeOf = (host) => report.routes.find((r) => r.host === host || r.host === host.replace(/:443$/, ''))?.via;
    const usesProxy = !!report.proxy.url && report.routes.some((r) => r.via === 'proxy');
    // The proxy: failed when it failed itself (unreachable, silent, 407); a refused tunnel is its
    // edge's. Passed when it opened a tunnel or answered a CONNECT.
    const proxyFindings = [];
    for (const c of report.checks)
        if (c.outcome === 'failed' && atProxy(c.finding))
            proxyFindings.push({ finding: c.finding, host: c.host });
    for (const i of report.images)
        if (i.outcome === 'failed' && atProxy(i.finding))
            proxyFindings.push({ finding: i.finding, host: i.registry });
    const ownFailure = proxyFindings.find((p) => proxyFailure(p.finding)?.kind !== 'refused');
    const refusedHosts = new Set(proxyFindings
        .filter((p) => proxyFailure(p.finding)?.kind === 'refused')
        .map((p) => p.host.replace(/:443$/, '')));
    if (usesProxy) {
        const answered = refusedHosts.size > 0 ||
            report.checks.some((c) => c.via === 'proxy' && c.status !== undefined) ||
            report.images.some((i) => i.status !== undefined && routeOf(i.registry) === 'proxy');
        nodes.push({
            id: 'proxy',
            kind: 'proxy',
            title: 'Proxy',
            host: report.proxy.url,
            request: 'CONNECT',
            state: ownFailure ? 'failed' : answered ? 'passed' : 'skipped',
            answer: ownFailure ? undefined : answered ? 'answered' : undefined,
            reason: ownFailure ? shortReason(ownFailure.finding) : answered ? undefined : 'not reached',
        });
        edges.push({ from: 'runner', to: 'proxy' });
    }
    /** The edge from the runner (or the proxy) to a node at `host`. */
    const reach = (id, host) => {
        const proxied = usesProxy && routeOf(host) === 'proxy';
        const refused = proxied && refusedHosts.has(host.replace(/:443$/, ''));
        const finding = refused
            ? proxyFindings.find((p) => p.host.replace(/:443$/, '') === host.replace(/:443$/, '') &&
                proxyFailure(p.finding)?.kind === 'refused')?.finding
            : undefined;
        edges.push({
            from: proxied ? 'proxy' : 'runner',
            to: id,
            ...(finding ? { label: `❌ ${shortReason(finding)}`, failed: true } : {}),
        });
    };
    for (const [n, registry] of diagram_registriesOf(report).entries()) {
        const g = `r${n}`;
        const checks = report.checks.filter((c) => c.registry === registry);
        const images = report.images.filter((i) => i.registry === registry);
        const token = checks.find((c) => c.id === 'token');
        if (token) {
            nodes.push(checkNode(`${g}_token`, 'token', 'Token service', token));
            reach(`${g}_token`, token.host);
        }
        nodes.push(registryNode(`${g}_registry`, registry, checks, images));
        reach(`${g}_registry`, registry);
        for (const node of imageNodes(g, images)) {
            nodes.push(node);
            edges.push({ from: `${g}_registry`, to: node.id });
        }
        for (const [b, blob] of checks.filter((c) => c.id === 'blob').entries()) {
            const id = `${g}_blob${b}`;
            if (blob.hop === 'blob-host') {
                nodes.push(checkNode(id, 'blob', 'Blob host (layers)', blob));
                reach(id, blob.host);
                edges.push({ from: `${g}_registry`, to: id, label: 'redirects layers', dotted: true });
            }
            else {
                nodes.push(checkNode(id, 'layers', 'Layers', blob));
                edges.push({ from: `${g}_registry`, to: id });
            }
        }
    }
    return { nodes, edges };
}
/** The registries in play: the configured one first, then each other in the order first met. */
function diagram_registriesOf(report) {
    const list = [report.registry];
    for (const r of [
        ...report.registries.map((v) => v.registry),
        ...report.images.map((i) => i.registry),
    ])
        if (!list.includes(r))
            list.push(r);
    return list;
}
/** A node for one check: its request, its answer, its outcome. */
function checkNode(id, kind, title, c) {
    const node = {
        id,
        kind,
        title,
        host: c.host,
        request: shortRequest(c.request),
        state: 'skipped',
    };
    if (c.outcome === 'skipped')
        return { ...node, reason: 'not reached' };
    if (c.outcome === 'failed' && (c.atProxy || atProxy(c.finding)))
        return { ...node, reason: 'not reached: the proxy failed' };
    const answer = c.status !== undefined ? String(c.status) : undefined;
    if (c.outcome === 'passed')
        return { ...node, state: 'passed', answer };
    return { ...node, state: 'failed', answer, reason: shortReason(c.finding) };
}
/**
 * The registry's node: its `/v2/` with the token (or credentials) when that was asked, else its
 * first `/v2/`. A registry checked only through its images (another registry, asked anonymously)
 * is marked by whether its `/v2/` answered, which its images' rows tell.
 */
function registryNode(id, registry, checks, images) {
    const ping = checks.find((c) => c.id === 'ping');
    const auth = checks.find((c) => c.id === 'registry');
    const base = {
        id,
        kind: 'registry',
        title: 'Registry',
        host: registry,
        request: 'GET /v2/',
        state: 'skipped',
    };
    if (ping) {
        if (ping.outcome === 'failed' || !auth)
            return checkNode(id, 'registry', 'Registry', ping);
        const node = checkNode(id, 'registry', 'Registry', auth);
        const asked = ping.status === 401 ? 'GET /v2/ with token' : 'GET /v2/';
        if (auth.outcome === 'skipped')
            return { ...node, request: asked, answer: undefined, reason: 'not asked: no token' };
        return { ...node, request: asked };
    }
    // Asked quietly: a failed door is in every image's row, with no answer and no time of its own.
    const door = images.find(doorFailure);
    if (door) {
        if (atProxy(door.finding))
            return { ...base, reason: 'not reached: the proxy failed' };
        return { ...base, state: 'failed', reason: shortReason(door.finding) };
    }
    if (images.some((i) => i.outcome !== 'skipped'))
        return { ...base, state: 'passed', answer: 'answered' };
    return { ...base, reason: 'not reached' };
}
/** A registry's images: each failing one up to a few, then the rest in one node per outcome. */
function imageNodes(g, images) {
    if (!images.length)
        return [];
    const failed = images.filter((i) => i.outcome === 'failed' && !doorFailure(i) && !atProxy(i.finding));
    const passed = images.filter((i) => i.outcome === 'passed');
    const unreached = images.filter((i) => !failed.includes(i) && !passed.includes(i));
    const request = (i) => tokenFailure(i) ? 'token for its repository' : 'manifest';
    const nodes = [];
    if (failed.length <= IMAGE_NODES) {
        for (const [n, i] of failed.entries()) {
            nodes.push({
                id: `${g}_img${n}`,
                kind: 'images',
                title: 'Image',
                host: i.name.slice(i.registry.length + 1),
                request: request(i),
                answer: i.status !== undefined ? String(i.status) : undefined,
                state: 'failed',
                reason: shortReason(i.finding),
            });
        }
    }
    else {
        const first = failed[0];
        const same = failed.every((i) => i.finding?.code === first.finding?.code);
        nodes.push({
            id: `${g}_imgs_failed`,
            kind: 'images',
            title: `${failed.length} of ${images.length} images`,
            request: request(first),
            state: 'failed',
            reason: same ? shortReason(first.finding) : `${shortReason(first.finding)} and more`,
        });
    }
    if (passed.length) {
        const count = passed.length === images.length ? images.length : passed.length;
        nodes.push({
            id: `${g}_imgs_passed`,
            kind: 'images',
            title: failed.length || unreached.length
                ? `${count} other ${count === 1 ? 'image' : 'images'}`
                : count === 1
                    ? 'Image'
                    : `${count} images`,
            host: count === 1 ? passed[0].name.slice(passed[0].registry.length + 1) : undefined,
            request: 'manifest',
            answer: passed.every((i) => i.status === passed[0].status) && passed[0].status !== undefined
                ? String(passed[0].status)
                : undefined,
            state: 'passed',
        });
    }
    if (unreached.length) {
        nodes.push({
            id: `${g}_imgs_skipped`,
            kind: 'images',
            title: `${unreached.length} ${unreached.length === 1 ? 'image' : 'images'}`,
            request: 'manifest',
            state: 'skipped',
            reason: 'not checked',
        });
    }
    return nodes;
}
const MARK = {
    passed: '✅',
    failed: '❌',
    skipped: '⏭️',
    neutral: '',
};
/** A node's label lines: title, host, the request and its answer, then the mark and the reason. */
function nodeLines(node) {
    const lines = [node.title];
    if (node.host)
        lines.push(node.host);
    if (node.request)
        lines.push(node.answer ? `${node.request} → ${node.answer}` : node.request);
    const mark = [MARK[node.state], node.reason].filter(Boolean).join(' ');
    if (mark)
        lines.push(mark);
    return lines;
}
/** The model as a Mermaid flowchart, in a fenced block. */
function mermaid(model) {
    const lines = ['```mermaid', 'flowchart LR'];
    for (const node of model.nodes) {
        const label = nodeLines(node)
            .map((l) => mermaidText(l))
            .join('<br/>');
        const [open, close] = node.kind === 'runner' ? ['([', '])'] : ['[', ']'];
        lines.push(`  ${node.id}${open}"${label}"${close}`);
    }
    const failedEdges = [];
    for (const [n, edge] of model.edges.entries()) {
        const arrow = edge.dotted ? '-.->' : '-->';
        const label = edge.label ? `|"${mermaidText(edge.label)}"|` : '';
        lines.push(`  ${edge.from} ${arrow}${label} ${edge.to}`);
        if (edge.failed)
            failedEdges.push(n);
    }
    for (const node of model.nodes)
        lines.push(`  class ${node.id} ${node.state}`);
    if (failedEdges.length)
        lines.push(`  linkStyle ${failedEdges.join(',')} stroke:#cf222e,stroke-width:2px,color:#cf222e`);
    lines.push('  classDef passed fill:#dafbe1,stroke:#1a7f37,color:#1f2328', '  classDef failed fill:#ffebe9,stroke:#cf222e,color:#1f2328', '  classDef skipped fill:#f6f8fa,stroke:#8c959f,color:#57606a', '  classDef neutral fill:#ffffff,stroke:#57606a,color:#1f2328', '```');
    return lines;
}

;// CONCATENATED MODULE: ./src/summary.ts
/**
 * The job summary, as Markdown a person takes in at a glance: the verdict; on failure, the cause
 * and the fix in a GitHub alert and a compact table of what failed; then, folded away (open on
 * failure, closed on success), the network path as a diagram, the images, every check and the
 * details. Each fact is said once. Everything a server sent is inert text (src/markdown.ts).
 * A pure function of the report, so the demo and the tests see exactly what the runner shows.
 */




function renderSummary(report, warnings = [], options = {}) {
    const failOnError = options.failOnError ?? true;
    const out = [`## ${verdictLine(report)}`, ''];
    const notes = [...warnings, ...report.notes];
    if (report.result === 'invalid-input') {
        out.push(...summary_alert(report, notes), '');
        return out.join('\n');
    }
    if (report.pullReady) {
        out.push(prose(report.message, 1200), '');
    }
    else {
        if (!failOnError) {
            out.push('**Report only** (`fail-on-error: false`): this step did not fail and the job goes on, but the pulls described here will fail.', '');
        }
        out.push(...summary_alert(report, notes), '');
        out.push(...failedTable(report));
    }
    if (notes.length)
        out.push('### Warnings', '', ...notes.map((n) => `- ⚠️ ${prose(n, 1200)}`), '');
    out.push(...folded('Network path', !report.pullReady, mermaid(pathModel(report))));
    out.push(...registriesTable(report));
    if (report.images.length)
        out.push(...imagesSection(report.images));
    out.push(...summary_hostsToAllow(report.hosts));
    out.push(...folded(`Every check (${report.checks.length})`, false, checksTable(report.checks)));
    out.push(...folded('Details', false, details(report)));
    return out.join('\n');
}
/** The verdict line: a run stopped at its inputs checked nothing, so it says so. */
function verdictLine(report) {
    if (report.pullReady)
        return '✅ Pulls will succeed';
    if (report.result === 'invalid-input')
        return `❌ Not checked: ${VERDICT['invalid-input']}`;
    const decisive = decisiveFailure(report);
    const odd = report.result === 'unexpected-response' ? oddAnswer(decisive?.finding) : undefined;
    if (odd === 'realm-plain-http' || odd === 'realm-link-local')
        return '❌ Pulls will fail: the registry names a token service credentials must not go to';
    return `❌ Pulls will fail: ${VERDICT[report.result]}`;
}
/** The cause in one sentence and the steps that fix it, as a GitHub alert. */
function summary_alert(report, warnings) {
    const decisive = decisiveFailure(report);
    const cause = decisive ? sentence(decisive.finding.detail) : report.message;
    const steps = howToFix(report.result, adviceContext(report, warnings));
    return [
        '> [!CAUTION]',
        `> **${prose(cause, 900)}**`,
        '>',
        `> ### How to fix (\`${report.result}\`)`,
        '>',
        ...steps.map((s, n) => `> ${n + 1}. ${s}`),
    ];
}
/** A section folded into `<details>`: open when it explains a failure, closed otherwise. */
function folded(title, open, body) {
    if (!body.length)
        return [];
    return [
        `<details${open ? ' open' : ''}><summary>${htmlText(title)}</summary>`,
        '',
        ...body,
        '',
        '</details>',
        '',
    ];
}
/** What failed, one row each: the hop and host, the request, the answer, the reason in a few words. */
function failedTable(report) {
    const rows = [];
    for (const c of report.checks) {
        if (c.outcome !== 'failed' || !c.finding)
            continue;
        rows.push(row([
            `${c.atProxy ? 'Proxy, on the way to ' : ''}${HOP_NAME[c.id === 'blob' ? c.hop : c.id]} ${codeSpan(c.host)}`,
            codeSpan(shortRequest(c.request)),
            c.status?.toString() ?? '—',
            `❌ ${shortReason(c.finding)}`,
        ]));
    }
    const images = report.images.filter((i) => i.outcome === 'failed' && i.finding);
    // A registry whose `/v2/` failed fails every image with the same words: one row says it.
    const doors = new Set();
    for (const i of images) {
        if (doorFailure(i)) {
            if (doors.has(i.registry))
                continue;
            doors.add(i.registry);
            const count = images.filter((x) => x.registry === i.registry && doorFailure(x)).length;
            rows.push(row([
                `Registry ${codeSpan(i.registry)} (${count} ${count === 1 ? 'image' : 'images'})`,
                codeSpan('GET /v2/'),
                '—',
                `❌ ${shortReason(i.finding)}`,
            ]));
            continue;
        }
        const why = [`❌ ${shortReason(i.finding)}`];
        if (i.finding.code === 'no-matching-platform' && i.platforms)
            why.push(`it holds ${i.platforms.length ? i.platforms.map((p) => codeSpan(p)).join(', ') : 'no platform'}`);
        if (i.registryMessage)
            why.push(`the registry says ${codeSpan(i.registryMessage, 300)}`);
        rows.push(row([
            imageName(i),
            tokenFailure(i) ? 'token' : 'manifest',
            i.status?.toString() ?? '—',
            why.join('; '),
        ]));
    }
    const unchecked = report.images.filter((i) => i.outcome === 'skipped').length;
    if (unchecked) {
        rows.push(row([
            `${unchecked} ${unchecked === 1 ? 'image' : 'images'}`,
            'manifest',
            '—',
            '⏭️ not checked: the steps before them failed',
        ]));
    }
    if (!rows.length)
        return [];
    return ['| What failed | Request | HTTP | Why |', '| --- | --- | --- | --- |', ...rows, ''];
}
const HOP_NAME = {
    ping: 'Registry',
    registry: 'Registry',
    token: 'Token service',
    'token-service': 'Token service',
    'blob-host': 'Blob host',
    proxy: 'Proxy',
};
/**
 * One row per registry when there is more than one, or when credentials came from an auth file:
 * which file (and key) or helper each registry's credentials came from, and its own verdict.
 */
function registriesTable(report) {
    const fromFiles = report.registries.some((r) => r.credentials.from === 'file' || r.credentials.from === 'helper');
    if (report.registries.length < 2 && !fromFiles)
        return [];
    const rows = report.registries.map((r) => row([
        codeSpan(r.registry),
        credentialsFrom(r.credentials),
        r.pullReady ? '✅ will pull' : `❌ \`${r.result}\``,
    ]));
    return [
        '### Registries',
        '',
        '| Registry | Credentials | Verdict |',
        '| --- | --- | --- |',
        ...rows,
        '',
    ];
}
function credentialsFrom(c) {
    switch (c.from) {
        case 'none':
            return 'none (anonymous)';
        case 'inputs':
            return 'the `username` and `password` inputs';
        case 'file':
            return `${codeSpan(c.file)}, key ${codeSpan(c.key)}`;
        case 'helper':
            return `${codeSpan(`docker-credential-${c.helper}`)} (named in ${codeSpan(c.file)})`;
    }
}
function checksTable(checks) {
    if (!checks.length)
        return [];
    const rows = checks.map((c) => row([
        c.title,
        `${codeSpan(c.host)}${c.via === 'proxy' ? ' via proxy' : ''}`,
        codeSpan(shortRequest(c.request)),
        c.status?.toString() ?? '—',
        c.ms !== undefined
            ? `${c.ms} ms${c.attempts && c.attempts > 1 ? ` (${c.attempts} tries)` : ''}`
            : '—',
        c.outcome === 'failed' && c.finding
            ? `❌ \`${c.finding.code}\`: ${shortReason(c.finding)}`
            : c.outcome === 'passed'
                ? '✅ passed'
                : '⏭️ not reached',
    ]));
    return [
        '| Check | Host | Request | HTTP | Time | Outcome |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
    ];
}
/**
 * How many images will pull; those that fail are in the table of what failed, so here only those
 * that pull and those not checked, folded away.
 */
function imagesSection(images) {
    const passed = images.filter((i) => i.outcome === 'passed');
    const skipped = images.filter((i) => i.outcome === 'skipped');
    const out = [
        '### Images',
        '',
        `${passed.length} of ${images.length} ${images.length === 1 ? 'image' : 'images'} will pull.`,
        '',
    ];
    if (passed.length) {
        const platforms = passed.some((i) => i.platforms?.length);
        out.push(...folded(`${passed.length} ${passed.length === 1 ? 'image' : 'images'} that will pull`, false, [
            platforms ? '| Image | Digest | Platforms |' : '| Image | Digest |',
            platforms ? '| --- | --- | --- |' : '| --- | --- |',
            ...passed.map((i) => row([
                imageName(i),
                i.digest ? codeSpan(`${i.digest.slice(0, 19)}…`) : '—',
                ...(platforms ? [platformList(i)] : []),
            ])),
        ]));
    }
    if (skipped.length) {
        out.push(...folded(`${skipped.length} ${skipped.length === 1 ? 'image' : 'images'} not checked`, false, skipped.map((i) => `- ${imageName(i)}`)));
    }
    return out;
}
function imageName(i) {
    return `${codeSpan(i.name)}${i.anonymous ? ' (anonymous)' : ''}`;
}
/** The platforms an index holds, the one matched in bold. */
function platformList(i) {
    if (!i.platforms?.length)
        return i.kind === 'manifest' ? 'single platform' : '—';
    return i.platforms.map((p) => (p === i.platform ? `**${codeSpan(p)}**` : codeSpan(p))).join(', ');
}
/** What a firewall or a proxy must let through, one `host:port` a line, ready to copy. */
function summary_hostsToAllow(hosts) {
    if (!hosts.length)
        return [];
    return [
        '### Hosts to allow',
        '',
        'The pulls need HTTPS to these, in the order they were first used (registry, token service, blob host):',
        '',
        '```text',
        // A host name cannot hold a backtick; a line that could end the fence is left out whole.
        ...hosts.filter((h) => !h.includes('`')).map((h) => h.replace(/[\r\n]/g, '')),
        '```',
        '',
    ];
}
function details(report) {
    const out = [];
    if (report.platforms !== 'any') {
        out.push(`- Platform: ${codeSpan(report.platforms.wanted.join(', '))} (from ${prose(report.platforms.source)})`);
    }
    for (const line of report.info)
        out.push(`- ${prose(line, 1200)}`);
    const p = report.proxy;
    if (p.url) {
        const from = p.source === 'input' ? 'the `proxy` input' : `the ${codeSpan(p.source)} environment variable`;
        out.push(`- Proxy: ${codeSpan(p.url)} from ${from}${p.schemeAssumed ? ' (no scheme given; http:// assumed)' : ''}`);
    }
    else {
        out.push('- Proxy: none configured (neither the `proxy` input nor `HTTPS_PROXY`/`https_proxy` is set)');
    }
    if (p.noProxy.length)
        out.push(`- ${codeSpan(p.noProxySource ?? 'no_proxy')}: ${codeSpan(p.noProxy.join(','))}`);
    for (const r of report.routes)
        out.push(`- ${codeSpan(r.host)}: ${r.via === 'proxy' ? 'through the proxy' : 'direct'} (${prose(r.reason)})`);
    const a = report.auth;
    if (a.realm) {
        const source = {
            challenge: 'announced by the registry',
            'auth-url': 'from the `auth-url` input',
            known: 'the realm Red Hat uses (the registry could not be asked)',
        }[a.realmSource ?? 'challenge'];
        out.push(`- Token service (the realm, where tokens are asked for): ${codeSpan(a.realm)} (${source})`);
    }
    if (report.tokenExpiresIn !== undefined)
        out.push(`- Token lifetime: ${report.tokenExpiresIn} s`);
    for (const [registry, limit] of lowestRateLimits(report.images)) {
        out.push(`- Pull limit on ${codeSpan(registry)}: ${describeRateLimit(limit)}`);
    }
    out.push(`- Credentials: ${{ given: 'given', anonymous: 'none (anonymous access tried)', incomplete: 'incomplete (one of username and password is empty)' }[a.credentials]}`);
    out.push(`- Took ${report.durationMs} ms`);
    return out;
}
/** Per registry, the rate limit with the fewest pulls left (the last answer is the freshest). */
function lowestRateLimits(images) {
    const lowest = new Map();
    for (const i of images) {
        const known = lowest.get(i.registry);
        if (i.rateLimit &&
            (!known || (i.rateLimit.remaining ?? Infinity) < (known.remaining ?? Infinity))) {
            lowest.set(i.registry, i.rateLimit);
        }
    }
    return lowest;
}
/** `76 of 100 pulls left in a 6 h window, counted for 203.0.113.7`. */
function describeRateLimit(r) {
    const left = r.remaining !== undefined && r.limit !== undefined
        ? `${r.remaining} of ${r.limit} pulls left`
        : r.remaining !== undefined
            ? `${r.remaining} pulls left`
            : `a limit of ${r.limit} pulls`;
    const window = r.windowSeconds ? ` in a ${formatDuration(r.windowSeconds)} window` : '';
    const source = r.source ? `, counted for ${codeSpan(r.source, 80)}` : '';
    return `${left}${window}${source}`;
}
function formatDuration(seconds) {
    if (seconds % 3600 === 0)
        return `${seconds / 3600} h`;
    if (seconds % 60 === 0)
        return `${seconds / 60} min`;
    return `${seconds} s`;
}

;// CONCATENATED MODULE: ./package.json
const package_namespaceObject = {"rE":"0.1.0"};
;// CONCATENATED MODULE: ./src/version.ts
/** The version users pin, from package.json: the one place it is written. The bundle inlines it. */

const VERSION = package_namespaceObject.rE;

;// CONCATENATED MODULE: ./src/main.ts
/**
 * The action's edge: reads the inputs, masks the secrets, runs the preflight, and writes
 * outputs, annotations and the job summary. The only module that touches the runner.
 */










async function run() {
    try {
        const read = (name) => getInput(name, { trimWhitespace: false });
        for (const secret of secretsOf(read, process.env))
            core_setSecret(secret);
        let inputs;
        try {
            inputs = parseInputs(read, process.env, (secret) => core_setSecret(secret));
        }
        catch (err) {
            if (!(err instanceof InputError))
                throw err;
            // An input error fails the step whatever fail-on-error says: the workflow itself is wrong.
            const report = invalidInputReport(err.message, quote(read('registry').trim() || 'registry.redhat.io'));
            await publish(report, [], read('summary').trim().toLowerCase() !== 'false', true);
            setFailed(err.message);
            return;
        }
        for (const warning of inputs.warnings)
            core_warning(warning);
        const report = await preflight(inputs.config, {
            onSecret: (value) => core_setSecret(value),
            // Debug lines are written only when the runner shows them (RUNNER_DEBUG=1): with many
            // images they are hundreds of writes to stdout.
            debug: isDebug() ? (message) => core_debug(message) : () => { },
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            now: () => Date.now(),
            userAgent: `registry-auth-preflight/${VERSION}`,
            concurrency: CONCURRENCY,
        });
        logReport(report, inputs.warnings);
        await publish(report, inputs.warnings, inputs.writeSummary, inputs.failOnError);
        for (const note of report.notes)
            core_warning(note);
        for (const line of report.info)
            info(line);
        if (report.pullReady)
            info(report.message);
        else if (inputs.failOnError)
            setFailed(report.message);
        else
            core_warning(`${report.message} This step did not fail (fail-on-error: false); the pulls will.`, { title: `registry-auth-preflight: ${report.result}` });
    }
    catch (err) {
        setFailed(`registry-auth-preflight stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
    }
}
async function publish(report, warnings, writeSummary, failOnError) {
    for (const [name, value] of Object.entries(outputsOf(report)))
        setOutput(name, value);
    if (!writeSummary)
        return;
    if (!process.env.GITHUB_STEP_SUMMARY) {
        core_debug('GITHUB_STEP_SUMMARY is not set: no job summary written');
        return;
    }
    await summary.addRaw(renderSummary(report, warnings, { failOnError }), true).write();
}
/**
 * The step's log: one line per check and image, folded into a group when there are many, then,
 * on failure, the cause and the same fix as the summary's, step by step, in plain text.
 */
function logReport(report, warnings) {
    const mark = { passed: '✅', failed: '❌', skipped: '⏭️' };
    const lines = [];
    for (const c of report.checks) {
        const status = c.status !== undefined ? ` → HTTP ${c.status}` : '';
        const time = c.ms !== undefined ? ` (${c.ms} ms)` : '';
        const why = c.finding ? `: ${c.finding.code}: ${c.finding.detail}` : '';
        lines.push(`${mark[c.outcome]} ${c.title}: ${c.request} ${c.host}${status}${time}${why}`);
    }
    for (const i of report.images) {
        const status = i.status !== undefined ? ` → HTTP ${i.status}` : '';
        const why = i.finding ? `: ${i.finding.code}: ${i.finding.detail}` : '';
        const says = i.registryMessage ? ` (the registry says: "${i.registryMessage}")` : '';
        lines.push(`${mark[i.outcome]} ${i.name}${status}${why}${says}`);
    }
    const grouped = lines.length > 12;
    if (grouped)
        startGroup(`${lines.length} checks and images`);
    for (const line of lines)
        info(line);
    if (grouped)
        endGroup();
    if (report.pullReady)
        return;
    const steps = howToFix(report.result, adviceContext(report, warnings));
    info(`How to fix (${report.result}):`);
    for (const [n, step] of steps.entries())
        info(`  ${n + 1}. ${step}`);
}

;// CONCATENATED MODULE: ./src/index.ts

// Exit once the outputs and summary are written: a socket left behind by a peer that never
// answered must not keep the step running. run() reports its own failures with setFailed; should
// that itself throw, the step must still fail, loudly.
run().then(() => process.exit(), (err) => {
    console.error(err);
    process.exit(1);
});

})();

module.exports = __webpack_exports__;
/******/ })()
;