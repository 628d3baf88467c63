// Row "Served certificates" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Served certificates",
  panels: [
    {
      type: "table",
      title: "Served certificates (probe)",
      description: "Each --probe.target: whether its last probe succeeded, whether the X.509-SVID it presents is the newest one known for its SPIFFE ID (0 = a missed reload, SpiffeServedSVIDStale), for how long it has been superseded, when the presented SVID expires, whether a client_auth=required target refuses clients without a certificate (SpiffeProbeClientAuthNotEnforced; empty for other targets) and the TLS version negotiated. Empty when no target is configured.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 24,
        h: 6
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target) (spiffe_probe_success{instance=\"$instance\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target) (spiffe_served_svid_current{instance=\"$instance\"})",
          refId: "B",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target) (spiffe_served_svid_stale_seconds{instance=\"$instance\"})",
          refId: "C",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target) (spiffe_served_svid_expiry_timestamp_seconds{instance=\"$instance\"}) - time()",
          refId: "D",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target) (spiffe_probe_client_auth_enforced{instance=\"$instance\"})",
          refId: "E",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "max by (target, version) (spiffe_probe_tls_version_info{instance=\"$instance\"})",
          refId: "F",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        }
      ],
      fieldConfig: {
        defaults: {
          custom: {
            align: "auto",
            cellOptions: {
              type: "auto"
            },
            inspect: false,
            filterable: true
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "green",
                value: null
              }
            ]
          },
          mappings: [],
          color: {
            mode: "thresholds"
          }
        },
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "Value #A"
            },
            properties: [
              {
                id: "displayName",
                value: "Probe"
              },
              {
                id: "mappings",
                value: [
                  {
                    type: "value",
                    options: {
                      "0": {
                        text: "failing",
                        index: 0
                      },
                      "1": {
                        text: "ok",
                        index: 1
                      }
                    }
                  }
                ]
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: 1
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #B"
            },
            properties: [
              {
                id: "displayName",
                value: "Serves newest SVID"
              },
              {
                id: "mappings",
                value: [
                  {
                    type: "value",
                    options: {
                      "0": {
                        text: "stale",
                        index: 0
                      },
                      "1": {
                        text: "current",
                        index: 1
                      }
                    }
                  }
                ]
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: 1
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #C"
            },
            properties: [
              {
                id: "displayName",
                value: "Superseded for"
              },
              {
                id: "unit",
                value: "s"
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "green",
                      value: null
                    },
                    {
                      color: "orange",
                      value: 1
                    },
                    {
                      color: "red",
                      value: 600
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #D"
            },
            properties: [
              {
                id: "displayName",
                value: "Served SVID expires in"
              },
              {
                id: "unit",
                value: "s"
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: 0
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #E"
            },
            properties: [
              {
                id: "displayName",
                value: "Client SVID required"
              },
              {
                id: "mappings",
                value: [
                  {
                    type: "value",
                    options: {
                      "0": {
                        text: "anonymous accepted",
                        index: 0
                      },
                      "1": {
                        text: "enforced",
                        index: 1
                      }
                    }
                  }
                ]
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "green",
                      value: 1
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "version"
            },
            properties: [
              {
                id: "displayName",
                value: "TLS"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "target"
            },
            properties: [
              {
                id: "displayName",
                value: "Target"
              }
            ]
          }
        ]
      },
      options: {
        showHeader: true,
        cellHeight: "sm",
        footer: {
          show: false,
          reducer: [
            "sum"
          ],
          fields: ""
        },
        sortBy: [
          {
            displayName: "Serves newest SVID",
            desc: false
          }
        ]
      },
      transformations: [
        {
          id: "merge",
          options: {}
        },
        {
          id: "organize",
          options: {
            excludeByName: {
              Time: true,
              "Value #F": true
            },
            renameByName: {},
            indexByName: {
              target: 0,
              "Value #A": 1,
              "Value #B": 2,
              "Value #C": 3,
              "Value #D": 4,
              "Value #E": 5,
              version: 6
            }
          }
        }
      ]
    },
  ],
}
