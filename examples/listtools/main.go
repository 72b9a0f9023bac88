// Command listtools shows how other lab software uses the bridge's API with
// the generated Go stubs alone: it lists every tool the bridge knows, with
// who is using it and whether it has a problem.
//
//	go run ./examples/listtools -addr localhost:7004
//	go run ./examples/listtools -addr bridge.lab.example:7004 -ca bridge-ca.pem
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"text/tabwriter"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

func main() {
	addr := flag.String("addr", "localhost:7004", "gRPC address of the bridge's gateway")
	token := flag.String("token", os.Getenv("ADMIN_TOKEN"), "bearer token, when the gateway protects reads")
	caFile := flag.String("ca", "", "PEM file of the CA that signed the gateway's certificate (empty: plain text, for a gateway on this machine)")
	flag.Parse()

	creds := insecure.NewCredentials()
	if *caFile != "" {
		tlsCreds, err := credentials.NewClientTLSFromFile(*caFile, "")
		if err != nil {
			log.Fatalf("-ca: %v", err)
		}
		creds = tlsCreds
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := statusv1.NewStatusServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if *token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTOOL\tIN USE BY\tOPERATIONAL\tOPEN PROBLEMS")
	req := &statusv1.ListToolsRequest{PageSize: 100}
	for {
		resp, err := client.ListTools(ctx, req)
		if err != nil {
			log.Fatalf("list tools: %v", err)
		}
		for _, t := range resp.GetTools() {
			user := "-"
			if t.GetInUse() {
				user = t.GetUser()
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%t\t%d\n", t.GetId(), t.GetName(), user, t.GetOperational(), len(t.GetOpenTasks()))
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	w.Flush()
}
