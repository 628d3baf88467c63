// Row "Fleet summary" of the overview dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Fleet summary",
  panels: [
    {
      type: "stat",
      title: "Identities",
      description: "X.509-SVIDs seen by all exporters (recording rule source_trust_domain:spiffe_x509_svid_valid:count).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum(source_trust_domain:spiffe_x509_svid_valid:count{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          color: {
            mode: "thresholds"
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
          noValue: "0"
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "none",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Invalid",
      description: "SVIDs failing at least one check (SpiffeX509SVIDInvalid / SpiffeX509SVIDExpired).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 3,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum(source_trust_domain:spiffe_x509_svid_valid:count_eq0{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          color: {
            mode: "thresholds"
          },
          thresholds: {
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
          },
          mappings: [],
          noValue: "0"
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Expired",
      description: "SVIDs past notAfter (SpiffeX509SVIDExpired).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 6,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "count(spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} < 0) or vector(0)",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          color: {
            mode: "thresholds"
          },
          thresholds: {
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
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Critical band",
      description: "SVIDs matching SpiffeX509SVIDExpiringCritical's condition now: under 1 h left and past half-life (the alert also needs it to hold for 5 minutes).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 9,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "count(spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} >= 0 and spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} < $critical_seconds and spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) < 0.5) or vector(0)",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          color: {
            mode: "thresholds"
          },
          thresholds: {
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
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Warning band",
      description: "SVIDs matching SpiffeX509SVIDExpiringSoon's condition now: under 25 % of lifetime left, or under 6 h left past half-life (the alert also needs it to hold for 10 minutes).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "count(spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} >= 0 and (spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) < $warning_fraction or (spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} < $warning_seconds and spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) < 0.5))) or vector(0)",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          color: {
            mode: "thresholds"
          },
          thresholds: {
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
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Soonest SVID expiry",
      description: "Time until the first SVID of the fleet expires. Red under 1 h, orange under 6 h (the alerts' absolute thresholds; short-lived SVIDs sit there normally, see the warning/critical counts).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 15,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "min(source_trust_domain:spiffe_x509_svid_expiry_timestamp_seconds:min{source=~\"$source\"}) - time()",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "s",
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "red",
                value: null
              },
              {
                color: "orange",
                value: c.svidCriticalSeconds
              },
              {
                color: "green",
                value: c.svidWarningSeconds
              }
            ]
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Streams healthy",
      description: "Share of exporters whose Workload API X.509 stream is healthy (SpiffeWorkloadAPIDown fires per instance after 5 minutes).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 18,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum(source:spiffe_workload_api_up:sum{source=~\"$source\"}) / sum(source:spiffe_workload_api_up:count{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "percentunit",
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "red",
                value: null
              },
              {
                color: "orange",
                value: 0.9
              },
              {
                color: "green",
                value: 1
              }
            ]
          },
          mappings: [],
          decimals: 1
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Exporters up",
      description: "Share of spiffe-exporter targets Prometheus scrapes successfully (SpiffeExporterDown).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 21,
        y: 0,
        w: 3,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "avg(up{job=~\".*spiffe-exporter.*\", instance=~\"$instance\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "percentunit",
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "red",
                value: null
              },
              {
                color: "orange",
                value: 0.9
              },
              {
                color: "green",
                value: 1
              }
            ]
          },
          mappings: [],
          decimals: 1
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
  ],
}
