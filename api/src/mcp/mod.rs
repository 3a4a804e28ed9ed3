//! The MCP server: devex's reports as Model Context Protocol tools, its
//! metric definitions as resources, and two guided prompts, over stdio
//! (`devex mcp`) and streamable HTTP (`/mcp` on `devex serve`, behind the
//! same guard as the API: a viewer token once tokens exist).
//!
//! Owns the protocol's shape only. Every number comes from the same
//! `crate::reports` functions as the HTTP API and the CLI, as the same JSON;
//! survey results pass the same anonymity rules. Nothing here writes,
//! except that a survey view over HTTP is recorded in the audit log as the
//! API records it.

use std::sync::Arc;

use analytics::LakeQueries;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

use crate::auth::guard::{Caller, Guard};
use crate::config::Config;
use crate::error::{Error, Result};

mod prompts;
mod resources;
mod summary;
mod tools;

/// What the server tells an assistant when it connects.
const INSTRUCTIONS: &str = "devex answers questions about software delivery and developer experience: DORA (deployment frequency, lead time for changes, change failure rate, recovery time, rework), DevEx and SPACE measures, developer surveys, platform adoption, cost and AI assistants. Start with list_teams_services for the names filters accept. Windows are [from, to) in days (YYYY-MM-DD); the default is the last 90 days. To explain a number, follow dora_report with deployment_drilldown on the same window and filters: it lists each deployment's class, changes, failure causes (incidents, rollbacks) and recovery. Quote the definitions (resources devex://definitions/...) when you explain a measure. Developers appear only as pseudonymous groups; nothing is ranked per person.";

/// The MCP server over one lake.
#[derive(Clone)]
pub struct DevexMcp {
    queries: Arc<LakeQueries>,
    config: Arc<Config>,
    /// Over HTTP: the server's guard, which records survey views.
    guard: Option<Guard>,
}

impl DevexMcp {
    pub fn new(queries: Arc<LakeQueries>, config: Arc<Config>) -> DevexMcp {
        DevexMcp {
            queries,
            config,
            guard: None,
        }
    }

    /// Records survey views in the server's audit log.
    pub fn with_guard(mut self, guard: Guard) -> DevexMcp {
        self.guard = Some(guard);
        self
    }
}

impl ServerHandler for DevexMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("devex", env!("CARGO_PKG_VERSION"))
                .with_title("devex: DORA, DevEx and developer-survey metrics"),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    // No `get_tool`: the SDK would check arguments against the schema
    // first and answer a protocol error; devex's own parsing answers a tool
    // error the assistant can read.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let asker = Asker::of(&context);
        Ok(tools::call(self, &request.name, request.arguments, &asker)
            .await
            .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::list(
            &self.config,
        )))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ReadResourceResponse, McpError> {
        resources::read(&self.config, &request.uri).map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<GetPromptResponse, McpError> {
        let asker = Asker::of(&context);
        prompts::get(self, &request.name, request.arguments, &asker)
            .await
            .map(Into::into)
    }
}

/// Who is asking, over HTTP: the guard's caller and their address.
#[derive(Debug, Default)]
pub(crate) struct Asker {
    /// Asked over `/mcp` (not stdio).
    over_http: bool,
    caller: Option<String>,
    origin: Option<String>,
}

impl Asker {
    fn of(context: &RequestContext<RoleServer>) -> Asker {
        let Some(parts) = context.extensions.get::<axum::http::request::Parts>() else {
            return Asker::default();
        };
        Asker {
            over_http: true,
            caller: parts.extensions.get::<Caller>().map(|c| c.name.clone()),
            origin: crate::auth::guard::origin(&parts.extensions),
        }
    }
}

/// `devex mcp`: serves the lake over stdio until the client closes it.
/// Logs go to stderr; stdout carries the protocol only.
pub async fn serve_stdio(queries: Arc<LakeQueries>, config: Arc<Config>) -> Result<()> {
    let running = DevexMcp::new(queries, config)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Internal(format!("the MCP session did not start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Internal(format!("the MCP session ended abnormally: {e}")))?;
    Ok(())
}

/// `/mcp` on `devex serve`: stateless streamable HTTP (JSON answers, no
/// session kept), so any of several servers behind a load balancer answers
/// any request. The Host allowlist and the tokens are the server's own
/// guard's, so the SDK's loopback-only Host check is off.
pub fn http_service(
    queries: Arc<LakeQueries>,
    config: Arc<Config>,
    guard: Guard,
) -> StreamableHttpService<DevexMcp, LocalSessionManager> {
    let server = DevexMcp::new(queries, config).with_guard(guard);
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Default::default(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .disable_allowed_hosts(),
    )
}
