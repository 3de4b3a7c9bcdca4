//! `bd mcp`: the verbs served over MCP (stdio), with the official Rust SDK
//! (`rmcp`). One workspace per server; the actor from `--actor`/`BD_ACTOR`
//! or per call. Each tool is a verb ([`tools`]) run through the command
//! line's own dispatcher, in-process ([`calls`]): the same `ops` call, the
//! same `--json` document, the same refusals. Only this module builds a
//! tokio runtime, and only under `bd mcp`.

pub mod calls;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    CustomResult, Implementation, JsonObject, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::{RequestContext, ServerInitializeError};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

use calls::{DISCOVER, Refused, Reply, Server};

/// `bd mcp`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which tools `tools/list` shows: core (the agent loop; `discover`
    /// loads more) or all
    #[arg(long, default_value = "core", value_parser = ["core", "all"])]
    pub tools: String,
}

#[derive(Clone)]
struct Handler {
    server: Arc<Server>,
}

const INSTRUCTIONS: &str = "bd: the project's work tracker. Start with `prime`; then `ready` → `claim` → work → `comment`/`close`; `mail_inbox` for messages; `discover` lists more tools.";

fn schema(v: serde_json::Map<String, Value>) -> Arc<JsonObject> {
    Arc::new(v)
}

/// The tools/list entries: the listed tools, and `discover` when some are not.
fn listed(server: &Server) -> Vec<Tool> {
    let mut out: Vec<Tool> = server
        .listed()
        .into_iter()
        .map(|t| Tool::new(t.name, t.doc, schema(tools::input_schema(t))))
        .collect();
    if server.more_to_discover() {
        let s = json!({
            "type": "object",
            "properties": {"names": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": false
        });
        if let Value::Object(m) = s {
            out.push(Tool::new(
                DISCOVER,
                "List more tools; with names, load them",
                schema(m),
            ));
        }
    }
    out
}

/// A reply as an MCP tool result: the data as structured content, the
/// short text as the text.
fn result(reply: Reply) -> CallToolResponse {
    let (mut r, text) = match reply {
        Reply::Done { data, text } => (CallToolResult::structured(data), text),
        Reply::Failed { data, text } => (CallToolResult::structured_error(data), text),
    };
    r.content = vec![ContentBlock::text(text)];
    r.into()
}

fn invalid(e: Refused) -> ErrorData {
    ErrorData::invalid_params(
        e.0.clone(),
        Some(json!({"error": e.0, "code": "usage", "hint": "see tools/list"})),
    )
}

/// Sync work (file locks, the tracker) off the protocol's thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorData> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ErrorData::internal_error(format!("the call failed: {e}"), None))
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("bd", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(listed(&self.server)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        cx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        let server = Arc::clone(&self.server);
        if request.name == DISCOVER {
            let (reply, changed) = server.discover(&args).map_err(invalid)?;
            if changed {
                let _ = cx.peer.notify_tool_list_changed().await;
            }
            return Ok(result(reply));
        }
        let name = request.name.to_string();
        let reply = blocking(move || server.call(&name, &args)).await?;
        Ok(result(reply.map_err(invalid)?))
    }

    /// A standard method whose parameters do not parse (`tools/call`
    /// without a name): invalid params, not "method not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _cx: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        match request.method.as_str() {
            m @ ("tools/call"
            | "tools/list"
            | "resources/read"
            | "resources/list"
            | "resources/templates/list") => Err(ErrorData::invalid_params(
                format!("invalid params for {m}"),
                None,
            )),
            m => Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                m.to_owned(),
                None,
            )),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new("bd://prime", "prime")
                .with_description("The start-of-session summary for this agent")
                .with_mime_type("text/plain"),
        ]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("bd://issue/{id}", "issue")
                .with_description("One issue, as `bd show --json` gives it")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let verb: Vec<String> = if uri == "bd://prime" {
            vec!["prime".into()]
        } else if let Some(id) = uri.strip_prefix("bd://issue/").filter(|i| !i.is_empty()) {
            vec!["show".into(), "--".into(), id.to_string()]
        } else {
            return Err(ErrorData::resource_not_found(
                format!("no resource {uri}"),
                Some(json!({"uri": uri})),
            ));
        };
        let server = Arc::clone(&self.server);
        let prime = uri == "bd://prime";
        let reply = blocking(move || server.run(&verb)).await?;
        match reply {
            Reply::Done { data, text } => {
                let (body, mime) = if prime {
                    (text, "text/plain")
                } else {
                    (data.to_string(), "application/json")
                };
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(body, uri).with_mime_type(mime),
                ])
                .into())
            }
            Reply::Failed { data, .. } => {
                let msg = data["error"].as_str().unwrap_or("failed").to_string();
                if data["code"] == "not_found" {
                    Err(ErrorData::resource_not_found(msg, Some(data)))
                } else {
                    Err(ErrorData::internal_error(msg, Some(data)))
                }
            }
        }
    }
}

/// Serve MCP on stdin/stdout until the client goes away. The only place a
/// tokio runtime is built.
pub fn serve(
    start: PathBuf,
    actor: Option<String>,
    global: Vec<String>,
    a: Args,
) -> crate::error::Result<()> {
    crate::ops::set_long_lived();
    let server = Arc::new(Server::new(start, actor, global, a.tools == "all"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::invalid(format!("MCP start failed: {e}")))?;
    rt.block_on(async {
        let handler = Handler { server };
        let running = match handler
            .serve((tokio::io::stdin(), tokio::io::stdout()))
            .await
        {
            Ok(r) => r,
            // stdin closed before `initialize`: nothing to serve.
            Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => {
                return Err(crate::error::Error::invalid(format!(
                    "MCP start failed: {e}"
                )));
            }
        };
        let _ = running.waiting().await;
        Ok(())
    })
}
