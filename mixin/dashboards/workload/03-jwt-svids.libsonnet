// Row "JWT-SVIDs" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "JWT-SVIDs",
  panels: [
    {
      type: "table",
      title: "JWT audiences",
      description: "The JWT-SVID the exporter fetches for each audience set (--collector.workload-api.jwt-audience). Failing checks counts the failing reasons; the SpiffeJWTSVIDInvalid alert names them. Tokens are renewed at half-life, so less than a quarter of the lifetime left (SpiffeJWTSVIDExpiring) means renewal has stopped. Empty when no audience is configured.",
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
          expr: "spiffe_jwt_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
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
          expr: "spiffe_jwt_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000",
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
          expr: "spiffe_jwt_svid_valid{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
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
          expr: "count without (reason) (spiffe_jwt_svid_problem{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} == 1) or spiffe_jwt_svid_valid{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 0",
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
          expr: "sum without (outcome) (increase(spiffe_jwt_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\", outcome=\"on_time\"}[$__range]))",
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
          expr: "sum without (outcome) (increase(spiffe_jwt_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\", outcome=~\"late|missed\"}[$__range]))",
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
          },
          noValue: "No JWT audience configured"
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
                value: "Expires in"
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
                  type: "color-background"
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
                value: "Expires at"
              },
              {
                id: "unit",
                value: "dateTimeAsIso"
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
                value: "Valid"
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              },
              {
                id: "mappings",
                value: [
                  {
                    type: "value",
                    options: {
                      "1": {
                        text: "valid",
                        color: "green",
                        index: 0
                      },
                      "0": {
                        text: "invalid",
                        color: "red",
                        index: 1
                      }
                    }
                  }
                ]
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
                value: "Failing checks"
              },
              {
                id: "decimals",
                value: 0
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
                      color: "red",
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
              options: "Value #E"
            },
            properties: [
              {
                id: "displayName",
                value: "Renewed on time"
              },
              {
                id: "decimals",
                value: 0
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #F"
            },
            properties: [
              {
                id: "displayName",
                value: "Late or missed"
              },
              {
                id: "decimals",
                value: 0
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
              options: "spiffe_id"
            },
            properties: [
              {
                id: "displayName",
                value: "SPIFFE ID"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "audience"
            },
            properties: [
              {
                id: "displayName",
                value: "Audience"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "source"
            },
            properties: [
              {
                id: "displayName",
                value: "Source"
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
            displayName: "Expires in",
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
              __name__: true,
              job: true,
              instance: true
            },
            renameByName: {},
            indexByName: {
              spiffe_id: 0,
              audience: 1,
              source: 2,
              "Value #A": 3,
              "Value #B": 4,
              "Value #C": 5,
              "Value #D": 6,
              "Value #E": 7,
              "Value #F": 8
            }
          }
        }
      ]
    },
  ],
}
